"""The append-only, hash-chained audit trail of logins, denials and patient data access."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import BigInteger, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import (
    HUB_ONLY,
    ID_LENGTH,
    NODE_LENGTH,
    Base,
    JSONText,
    SyncedRow,
    UTCDateTime,
)
from sync.policy import Chain, Policy, Scope, synced

# The fields a record's hash covers, in the order they are serialised.
HASHED_FIELDS = (
    "id",
    "origin_node",
    "chain_seq",
    "at",
    "user_id",
    "username",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "patient_id",
    "outcome",
    "client_addr",
    "user_agent",
    "vehicle_id",
    "detail",
    "retention_until",
    "prev_hash",
)


def record_digest(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of a record's hashed fields, each in its wire form
    (timestamps and dates as text), so a record's hash is worked out alike from a row
    and from a change that carries it."""
    hashed = {name: fields.get(name) for name in HASHED_FIELDS}
    payload = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _change_digest(row_id: str, origin: str, values: Mapping[str, Any]) -> str:
    return record_digest({**values, "id": row_id, "origin_node": origin})


class AuditRecord(SyncedRow, Base):
    """`chain_seq` and `hash` chain each record to the previous one made on the same
    node (`origin_node`), so an edited or deleted record breaks the chain."""

    __tablename__ = "audit_record"
    __table_args__ = (
        UniqueConstraint("origin_node", "chain_seq"),
        # Only head office's audit search reads these; an edge drops them (`HUB_ONLY`).
        Index("ix_audit_record_user_at", "user_id", "at", info={HUB_ONLY: True}),
        Index("ix_audit_record_patient_at", "patient_id", "at", info={HUB_ONLY: True}),
        Index("ix_audit_record_at", "at", info={HUB_ONLY: True}),
        Index("ix_audit_record_vehicle_at", "vehicle_id", "at", info={HUB_ONLY: True}),
        {
            "info": synced(
                Policy.APPEND_ONLY,
                Scope.HUB,
                chain=Chain("chain_seq", "prev_hash", "hash", _change_digest),
            )
        },
    )

    chain_seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    username: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(48))
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    patient_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    outcome: Mapped[str] = mapped_column(String(16))
    client_addr: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    vehicle_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    detail: Mapped[dict[str, object] | None] = mapped_column(JSONText)
    retention_until: Mapped[dt.date] = mapped_column(Date)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChain(Base):
    """The head of this node's audit chain; locked while a record is appended. `seal` is
    an HMAC of where it stands under the node's audit key (`common.auditseal`, named by
    `seal_key`), so records cut from the end of the chain show."""

    __tablename__ = "audit_chain"

    node: Mapped[str] = mapped_column(String(NODE_LENGTH), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    seal_key: Mapped[str | None] = mapped_column(String(16))
    seal: Mapped[str | None] = mapped_column(String(64))


class AuditSeal(Base):
    """This node's HMAC-SHA256 of an audit record it holds, under its audit key (a file
    outside the database, named by `key_id`; `common.auditseal`): node-local, never
    synced. Without the key, an edited record cannot be sealed again, however well its
    chain is hashed again. One B-tree on SQLite (no rowid): the edge writes one with
    every request."""

    __tablename__ = "audit_seal"
    __table_args__ = {"sqlite_with_rowid": False}

    record_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
