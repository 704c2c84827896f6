"""Sync bookkeeping: the change log, column clocks, links, batches, quarantine, conflicts.

None of these tables is itself synced; they are how a node remembers what it has sent,
received and applied.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import (
    HUB_ONLY,
    ID_LENGTH,
    NODE_LENGTH,
    VERSION_LENGTH,
    Base,
    LongText,
    UTCDateTime,
)


class SyncNode(Base):
    """This node's own identity, and the highest version it has seen (its clock floor)."""

    __tablename__ = "sync_node"

    id: Mapped[str] = mapped_column(String(NODE_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    vehicle_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    hlc_floor: Mapped[str | None] = mapped_column(String(VERSION_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SyncChange(Base):
    """One captured write. Written by database triggers; `seq` is the insert order and
    `commit_seq` the commit order (assigned as the writing transaction commits)."""

    __tablename__ = "sync_change"
    __table_args__ = (
        Index("ix_sync_change_commit", "commit_seq"),
        # Only MySQL fills `tx` (SQLite has one writer, and there commit_seq is seq), so on
        # SQLite the index holds nothing instead of an entry moved at every commit.
        Index("ix_sync_change_tx", "tx", "commit_seq", sqlite_where=text("tx IS NOT NULL")),
        # The hub's pulls and subscriptions read by scope; an edge drops it (`HUB_ONLY`).
        Index("ix_sync_change_scope", "scope_kind", "scope_id", "seq", info={HUB_ONLY: True}),
        Index("ix_sync_change_row", "table_name", "row_id"),
        Index("ix_sync_change_node", "node", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    op: Mapped[str] = mapped_column(String(1))
    columns: Mapped[str | None] = mapped_column(Text)
    prior: Mapped[str | None] = mapped_column(Text)
    version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    node: Mapped[str] = mapped_column(String(NODE_LENGTH))
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    commit_seq: Mapped[int | None] = mapped_column(BigInteger)
    tx: Mapped[int | None] = mapped_column(BigInteger)


class SyncCounter(Base):
    """The last `commit_seq` handed out; locked briefly by each committing writer."""

    __tablename__ = "sync_counter"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncClock(Base):
    """Per-column versions of a row, for field-by-field merging; `deleted` marks a tombstone."""

    __tablename__ = "sync_clock"

    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    base: Mapped[str | None] = mapped_column(String(VERSION_LENGTH))
    clocks: Mapped[str] = mapped_column(Text)
    deleted: Mapped[str | None] = mapped_column(String(VERSION_LENGTH))


class SyncLink(Base):
    """What one node knows about its link with a peer (the edge's hub, or a hub's device)."""

    __tablename__ = "sync_link"

    peer: Mapped[str] = mapped_column(String(NODE_LENGTH), primary_key=True)
    pushed_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    pull_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    scope_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    digest: Mapped[str] = mapped_column(String(64), default="")
    receipt: Mapped[str | None] = mapped_column(Text)
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # hub: the last inbox report the device has taken; edge: the last the hub sent us
    reported: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # edge: compressed bytes per log entry in the last push batch built, the next one's guess
    bytes_per_entry: Mapped[float | None] = mapped_column(Float)
    # edge: restored from a backup, it re-bases (protocol, section 5d): its pull brings its
    # own changes back until caught up; when and what, for the status
    rebasing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    rebased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    rebase_note: Mapped[str | None] = mapped_column(Text)


class SyncBatch(Base):
    """A batch applied on this node, kept so a batch delivered twice is applied once."""

    __tablename__ = "sync_batch"
    __table_args__ = (Index("ix_sync_batch_peer", "peer", "applied_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    peer: Mapped[str] = mapped_column(String(NODE_LENGTH))
    direction: Mapped[str] = mapped_column(String(8))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    change_count: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    response: Mapped[str | None] = mapped_column(LongText)


class SyncInbox(Base):
    """A pushed batch the hub acknowledged before applying it (an overloaded hub stores
    and drains in the background), kept after the apply until the device has taken the
    batch's quarantine report."""

    __tablename__ = "sync_inbox"
    __table_args__ = (
        UniqueConstraint("peer", "batch_id", name="uq_sync_inbox_batch"),
        Index("ix_sync_inbox_peer", "peer", "applied_at", "id"),
        Index("ix_sync_inbox_queued", "applied_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    peer: Mapped[str] = mapped_column(String(NODE_LENGTH))
    batch_id: Mapped[str] = mapped_column(String(64))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    change_count: Mapped[int] = mapped_column(Integer)
    # the batch (zstd JSON), dropped once applied
    body: Mapped[bytes | None] = mapped_column(
        LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")
    )
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    report: Mapped[str | None] = mapped_column(Text)


class SyncQuarantine(Base):
    """A change that could not be applied, held aside with the reason. A `final` refusal
    (the sender had no right to it) is never retried; any other is tried again with the
    sender's next batch (a parent row may have arrived, the receiver's clock moved on)."""

    __tablename__ = "sync_quarantine"
    __table_args__ = (Index("ix_sync_quarantine_open", "resolved_at", "peer"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    peer: Mapped[str] = mapped_column(String(NODE_LENGTH))
    batch_id: Mapped[str | None] = mapped_column(String(64))
    table_name: Mapped[str | None] = mapped_column(String(64))
    row_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    change: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    final: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class SyncConflict(Base):
    """A concurrent edit the merge resolved automatically, kept for a human to review."""

    __tablename__ = "sync_conflict"
    __table_args__ = (Index("ix_sync_conflict_status", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    column_name: Mapped[str] = mapped_column(String(64))
    local_value: Mapped[str | None] = mapped_column(Text)
    remote_value: Mapped[str | None] = mapped_column(Text)
    merged_value: Mapped[str | None] = mapped_column(Text)
    local_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    remote_version: Mapped[str] = mapped_column(String(VERSION_LENGTH))
    resolution: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SyncSubscription(Base):
    """A scope a vehicle receives beyond its own (a patient booked on its route, a user
    assigned to it); `since_seq` marks when it began, so its history is sent once."""

    __tablename__ = "sync_subscription"

    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    scope_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    since_seq: Mapped[int] = mapped_column(BigInteger)
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)


class SyncNonce(Base):
    """Nonces of signed sync requests seen recently, so a captured request cannot replay."""

    __tablename__ = "sync_nonce"
    __table_args__ = (Index("ix_sync_nonce_expires", "expires_at"),)

    device_id: Mapped[str] = mapped_column(String(NODE_LENGTH), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
