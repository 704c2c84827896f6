"""The hub's inbox: pushed batches acknowledged once stored and applied later.

A hub process with no apply slot free stores the batch (as zstd JSON, in the columns it
came in, so storing costs no re-encoding) in the same transaction that moves the device's
acknowledged mark, so what the receipt covers is on disk before the reply leaves; a
background drain applies the batches in arrival order per device. A device's batches stay
queued in order: once one is queued, its later ones queue behind it until the drain
catches up.

An applied row keeps the batch's quarantine report until the device has taken it: the
reports go out with every reply, numbered by row id, until a request says it has them
(`Request.reported`), so a lost reply loses no report.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, column, select, table, text

from sync import wire
from sync.change import Change
from sync.policy import Chain
from sync.protocol import Batch

# the queued devices one drain pass visits, oldest first
PASS_DEVICES = 50

_inbox = table("sync_inbox", column("id"), column("peer"), column("body"), column("applied_at"))


@dataclass(frozen=True)
class Queued:
    """A stored batch waiting to be applied."""

    id: int
    batch: Batch


def store(
    connection: Connection,
    device_id: str,
    batch: Batch,
    chains: Mapping[str, Chain],
    at: dt.datetime,
) -> None:
    """Keep `batch` for the drain, as columns made for `chains`; the caller holds the
    device's link locked."""
    connection.execute(
        text(
            "INSERT INTO sync_inbox (peer, batch_id, first_seq, last_seq, change_count, body, "
            "received_at) VALUES (:p, :b, :first, :last, :n, :body, :at)"
        ),
        {
            "p": device_id,
            "b": batch.id,
            "first": batch.after,
            "last": batch.last,
            "n": len(batch.changes),
            "body": wire.pack(batch.to_wire(chains), wire.BULK_LEVEL),
            "at": at,
        },
    )


def has_queued(connection: Connection, device_id: str | None = None) -> bool:
    """Whether the device (any device, without one) has a batch waiting."""
    query = select(_inbox.c.id).where(_inbox.c.applied_at.is_(None)).limit(1)
    if device_id is not None:
        query = query.where(_inbox.c.peer == device_id)
    return connection.execute(query).first() is not None


def queued_devices(connection: Connection, skip: Sequence[str] = ()) -> list[str]:
    """Devices with batches queued, the one waiting longest first."""
    rows = connection.execute(
        text(
            "SELECT peer FROM sync_inbox WHERE applied_at IS NULL GROUP BY peer "
            "ORDER BY min(id) LIMIT :n"
        ),
        {"n": PASS_DEVICES + len(skip)},
    ).scalars()
    return [peer for peer in rows if peer not in skip][:PASS_DEVICES]


def claim(
    connection: Connection, device_id: str, chains: Mapping[str, Chain], *, wait: bool = False
) -> Queued | None:
    """The device's oldest queued batch (stored as columns or, by an older hub, as rows),
    locked until the transaction ends; None when it has none, or (unless `wait`) another
    transaction is applying it. Only the oldest is ever claimed, so a device's batches
    apply in order even with several drains; a push of the device sees the claimed batch
    still queued until its apply commits, and queues behind it, so the drain need not hold
    the device's link (the push would wait for the whole apply)."""
    while True:
        oldest = connection.execute(
            text("SELECT min(id) FROM sync_inbox WHERE peer = :p AND applied_at IS NULL"),
            {"p": device_id},
        ).scalar()
        if oldest is None:
            return None
        query = select(_inbox.c.id, _inbox.c.body, _inbox.c.applied_at)
        query = query.where(_inbox.c.id == oldest).with_for_update(skip_locked=not wait)
        row = connection.execute(query).first()
        if row is not None and row.applied_at is None:
            return Queued(row.id, Batch.from_wire(wire.unpack(row.body), chains))
        if not wait:  # another drain holds it, or has just applied it
            return None
        # waited for a drain that applied it meanwhile: the device's next one is oldest now


def applied(
    connection: Connection,
    queued: Queued,
    quarantined: Sequence[tuple[Change, str]],
    at: dt.datetime,
) -> None:
    """Mark the batch applied, keeping its report until the device takes it."""
    report = [[change.to_wire(), reason] for change, reason in quarantined]
    connection.execute(
        text("UPDATE sync_inbox SET applied_at = :at, report = :r, body = NULL WHERE id = :id"),
        {"at": at, "r": json.dumps(report), "id": queued.id},
    )


def reports(
    connection: Connection, device_id: str, taken: int | None
) -> tuple[list[tuple[Change, str]], int | None]:
    """The quarantine reports of the device's applied batches it has not taken yet, and
    the mark to send with them; forgets those it has taken (`taken`: the mark of its
    request). An edge too old to send a mark gets each report once.

    The rows are found by a plain read and deleted by id: a ranged DELETE would lock the
    index entry past the device's rows, another device's batch that a drain holds while
    applying, and wait for that whole apply."""
    rows = connection.execute(
        text(
            "SELECT id, report FROM sync_inbox WHERE peer = :p AND applied_at IS NOT NULL "
            "ORDER BY id"
        ),
        {"p": device_id},
    ).all()
    done = [row.id for row in rows if taken is None or row.id <= taken]
    pending = [row for row in rows if taken is None or row.id > taken]
    if done:
        connection.execute(_inbox.delete().where(_inbox.c.id.in_(done)))
    if not pending:
        return [], None
    held = [
        (Change.from_wire(item), reason)
        for row in pending
        for item, reason in json.loads(row.report or "[]")
    ]
    return held, pending[-1].id
