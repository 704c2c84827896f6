"""The audit trail: who did what to which record, when and from where.

Records are append-only and chained per node: each carries the hash of the one before it
made on the same node (`origin_node`, `chain_seq`, `prev_hash`), so an edited, deleted or
reordered record breaks the chain and `verify` finds the first broken link. At the hub
the chains of every vehicle sit side by side in one table and are verified one by one.
Each record and each chain head is also sealed under the node's audit key, kept outside
the database (`common.auditseal`), so a record edited by someone who hashed the chain
again breaks it too.

Three ways to record, by what the request is doing:
- `record`: a write joins the request's transaction (the record commits with the change,
  or neither does);
- `record_read`: a read of patient data in a GET ends the read transaction (never
  upgrading a read to a write on SQLite) and waits until its record is committed in a
  group commit with the reads of the other requests of the moment (`common.groupcommit`):
  one transaction and one flush to disk for many reads, each recorded before it answers;
  on SQLite a writer in progress takes the waiting records into its own commit;
- `record_apart`: a denial or failed login is committed on its own before the request
  fails, so the failure's rollback does not lose it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, event, insert, select, update
from sqlalchemy.orm import Session

from common import auditseal
from common.access import Actor
from common.auditseal import SealKey
from common.database import locked_row, transaction_apart, write_intended
from common.groupcommit import PerEngine
from common.node import this_node_id
from schema.base import new_id, utcnow
from schema.models import AuditChain, AuditRecord, AuditSeal, SyncNode
from schema.models.audit import HASHED_FIELDS, record_digest
from sync.stamp import clock_for
from sync.txn import gate_of

RETENTION_YEARS = 6
GENESIS = "0" * 64
# A laptop restored from a backup numbers its next records from the next multiple of this
# (`branch_after_restore`): far past any chain's length, so branches never meet.
BRANCH = 1_000_000_000
_HEADS = AuditChain.__table__
_INSERT = insert(AuditRecord.__table__)
_LOCK_HEAD = (
    select(_HEADS.c.last_seq, _HEADS.c.last_hash)
    .where(_HEADS.c.node == bindparam("head"))
    .with_for_update()
)
_MOVE_HEAD = (
    update(_HEADS)
    .where(_HEADS.c.node == bindparam("head"))
    .values(
        last_seq=bindparam("seq"),
        last_hash=bindparam("hash"),
        seal_key=bindparam("seal_key"),
        seal=bindparam("seal"),
    )
)

SUCCESS = "success"
FAILURE = "failure"
DENIED = "denied"

_LIMITS = {"username": 64, "role": 24, "client_addr": 64, "user_agent": 255, "action": 48}


@dataclass(frozen=True)
class Who:
    """The person (when known) and the place a record speaks of."""

    user_id: str | None
    username: str | None
    role: str | None
    client_addr: str | None
    user_agent: str | None
    vehicle_id: str | None

    @classmethod
    def of(cls, actor: Actor) -> Who:
        return cls(
            actor.user_id,
            actor.username,
            actor.role,
            actor.client_addr,
            actor.user_agent,
            actor.vehicle_id,
        )


@dataclass(frozen=True)
class Entry:
    """What happened."""

    action: str
    outcome: str = SUCCESS
    resource_type: str | None = None
    resource_id: str | None = None
    patient_id: str | None = None
    detail: Mapping[str, Any] | None = field(default=None)


def record(session: Session, who: Actor | Who, action: str, **what: Any) -> None:
    """Record a write in the current transaction: it commits with the change or not at all."""
    append(session, _who(who), Entry(action, **what))


# The reads of GET requests waiting for their records to commit, per database.
_reads: PerEngine[tuple[Who, Entry]] = PerEngine()


def record_read(
    session: Session,
    actor: Actor,
    resource_type: str,
    resource_id: str | None,
    *,
    patient_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    action: str = "read",
) -> None:
    """Record a read of patient data (or another sensitive read, such as an export). In a
    write request it joins the transaction; in a GET the read transaction ends first and
    this returns once the record is committed, with those of concurrent reads."""
    read = (Who.of(actor), Entry(action, SUCCESS, resource_type, resource_id, patient_id, detail))
    if write_intended():
        append(session, *read)
        return
    session.commit()  # the read transaction ends; it is never upgraded to a write

    def write(batch: list[tuple[Who, Entry]]) -> None:
        with transaction_apart(session):
            append_all(session, batch)

    bind = session.get_bind()
    gate = gate_of(bind)
    _reads.of(bind).submit(read, write, gate.turn if gate is not None else None)


@event.listens_for(Session, "before_commit")
def _carry_waiting_reads(session: Session) -> None:
    """A write transaction about to commit on SQLite takes the read records waiting
    meanwhile into its commit: those reads answer when it has committed, instead of
    waiting for the writer to finish and then writing a transaction of their own. On a
    rollback the records go back to wait for the next leader."""
    if session.in_nested_transaction():
        return
    bind = session.get_bind()
    gate = gate_of(bind)
    if gate is None or not gate.held_here():
        return
    loan = _reads.of(bind).lend()
    if loan is not None:
        gate.on_end(loan.settle)  # first: a failure appending them hands them back too
        append_all(session, loan.items)


def record_apart(session: Session, who: Actor | Who, action: str, **what: Any) -> None:
    """Record a failure and commit it at once, discarding the failing request's work."""
    with transaction_apart(session, discard_open=True):
        append(session, _who(who), Entry(action, **what))


def append(session: Session, who: Who, entry: Entry) -> None:
    """Add one record to the end of this node's chain (the chain head is locked meanwhile)."""
    append_all(session, [(who, entry)])


def append_all(session: Session, records: list[tuple[Who, Entry]]) -> None:
    """Add records to the end of this node's chain in order, locking its head once, and
    seal each and the head where it ends, in the same transaction (`common.auditseal`).

    Written as plain statements rather than ORM objects: every request writes a record,
    most of them a GET's read record, and the unit of work took a quarter of a read's
    time. The capture triggers log them alike; what the session holds pending is flushed
    first, so a change is logged before its record."""
    node = this_node_id(session)
    if node is None:
        raise RuntimeError("this database has no node identity; initialise it first")
    session.flush()
    connection = session.connection()
    key = auditseal.key_for(connection.engine)
    seq, prev = _lock_head(session, connection, node)
    clock = clock_for(connection.engine)
    rows, seals = [], []
    for who, entry in records:
        row = _next(node, seq + 1, prev, who, entry)
        row["version"] = clock.tick(connection)
        rows.append(row)
        seals.append(
            {"record_id": row["id"], "key_id": key.id, "mac": key.record(row["id"], row["hash"])}
        )
        seq, prev = row["chain_seq"], row["hash"]
    connection.execute(_INSERT, rows)
    connection.execute(auditseal.INSERT_SEALS, seals)
    head = {"head": node, "seq": seq, "hash": prev, "seal_key": key.id}
    connection.execute(_MOVE_HEAD, {**head, "seal": key.head(node, seq, prev)})


def _next(node: str, seq: int, prev: str, who: Who, entry: Entry) -> dict[str, Any]:
    at = utcnow()
    row: dict[str, Any] = {
        "id": new_id(),
        "origin_node": node,
        "chain_seq": seq,
        "at": at,
        "user_id": who.user_id,
        "username": _clip("username", who.username),
        "role": _clip("role", who.role),
        "action": _clip("action", entry.action),
        "resource_type": entry.resource_type,
        "resource_id": entry.resource_id,
        "patient_id": entry.patient_id,
        "outcome": entry.outcome,
        "client_addr": _clip("client_addr", who.client_addr),
        "user_agent": _clip("user_agent", who.user_agent),
        "vehicle_id": who.vehicle_id,
        "detail": _plain(entry.detail),
        "retention_until": retention_date(at.date()),
        "prev_hash": prev,
    }
    row["hash"] = _digest(row)
    return row


def record_hash(audit: AuditRecord) -> str:
    """SHA-256 over a canonical serialisation of the record's fields and `prev_hash`."""
    return _digest({name: getattr(audit, name) for name in HASHED_FIELDS})


def _digest(fields: Mapping[str, Any]) -> str:
    return record_digest({name: _canonical(fields[name]) for name in HASHED_FIELDS})


def retention_date(day: dt.date) -> dt.date:
    """Six years on: how long an audit record must be kept."""
    try:
        return day.replace(year=day.year + RETENTION_YEARS)
    except ValueError:  # 29 February
        return day.replace(year=day.year + RETENTION_YEARS, day=28)


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain."""

    seq: int
    record_id: str | None
    reason: str


@dataclass(frozen=True)
class ChainReport:
    node: str
    records: int
    broken: Break | None


def verify(session: Session, key: SealKey | None = None) -> list[ChainReport]:
    """Check every node's chain held in this database, links and seals, under `key` (by
    default the database's own, `auditseal.key_for`); one report per node."""
    key = key or auditseal.key_for(session.get_bind().engine)
    nodes = set(session.scalars(select(AuditRecord.origin_node).distinct()))
    nodes |= set(session.scalars(select(AuditChain.node)))
    return [verify_chain(session, node, key) for node in sorted(nodes)]


def verify_chain(session: Session, node: str, key: SealKey | None = None) -> ChainReport:
    """Walk one node's chain in order and report the first record that breaks it: a
    broken link, or a seal that is missing or does not match (a record edited by someone
    who hashed the chain again), then a head that does not match the chain or its seal.
    A branch (a laptop restored from a backup, `branch_after_restore`) is a record
    numbered at a branch's start whose link is an earlier record of the chain."""
    key = key or auditseal.key_for(session.get_bind().engine)
    seq, prev, count = 0, GENESIS, 0
    for audit, key_id, mac in _chain(session, node):
        count += 1
        if _branches(session, audit, seq):
            seq, prev = audit.chain_seq - 1, audit.prev_hash
        problem = _link_problem(audit, seq + 1, prev)
        problem = problem or auditseal.record_problem(key, audit.id, audit.hash, key_id, mac)
        if problem is not None:
            return ChainReport(node, count, Break(seq + 1, audit.id, problem))
        seq, prev = audit.chain_seq, audit.hash
    head = session.get(AuditChain, node, populate_existing=True)
    if head is not None and _branch_head(head, seq, prev):
        seq = head.last_seq  # restored, no record written since: the next starts a branch
    if head is not None and (head.last_seq, head.last_hash) != (seq, prev):
        reason = (
            f"the chain ends at record #{seq} but its head is at #{head.last_seq}: "
            "records at the end were deleted or rewritten"
        )
        return ChainReport(node, count, Break(seq + 1, None, reason))
    problem = auditseal.head_problem(key, head) if head is not None else None
    if problem is not None:
        return ChainReport(node, count, Break(seq + 1, None, problem))
    return ChainReport(node, count, None)


def _chain(session: Session, node: str) -> Iterator[tuple[AuditRecord, str | None, str | None]]:
    """A node's records in chain order, each with its seal's key and MAC (or None)."""
    query = (
        select(AuditRecord, AuditSeal.key_id, AuditSeal.mac)
        .outerjoin(AuditSeal, AuditSeal.record_id == AuditRecord.id)
        .where(AuditRecord.origin_node == node)
        .order_by(AuditRecord.chain_seq)
        .execution_options(yield_per=1000)
    )
    yield from session.execute(query)  # type: ignore[misc]  # rows are tuples


def branch_after_restore(connection: Connection, key: SealKey | None) -> int:
    """A laptop restored from a backup has gone back in time: head office holds records
    of its chain past the backup's, under the numbers the laptop would use next. Its
    next records start a branch instead (numbered from the next multiple of BRANCH, and
    linked to the backup's last record), so both branches are kept at the hub and each
    verifies. Returns the number the branch starts after; the head is sealed again."""
    node = connection.execute(select(SyncNode.id)).scalar()
    head = connection.execute(
        select(_HEADS.c.last_seq, _HEADS.c.last_hash).where(_HEADS.c.node == node)
    ).first()
    if node is None or head is None:
        return 0  # no record yet: nothing to branch from
    base = (head.last_seq // BRANCH + 1) * BRANCH
    values: dict[str, Any] = {"last_seq": base}
    if key is not None:
        values |= {"seal_key": key.id, "seal": key.head(node, base, head.last_hash)}
    connection.execute(update(_HEADS).where(_HEADS.c.node == node).values(**values))
    return base


def _branches(session: Session, audit: AuditRecord, seq: int) -> bool:
    """Whether `audit` starts a branch of its chain: numbered at a branch's start,
    past what came before, and linked to an earlier record of the same node."""
    if audit.chain_seq % BRANCH != 1 or audit.chain_seq <= seq + 1:
        return False
    earlier = select(AuditRecord.id).where(
        AuditRecord.origin_node == audit.origin_node,
        AuditRecord.hash == audit.prev_hash,
        AuditRecord.chain_seq < audit.chain_seq,
    )
    return audit.prev_hash == GENESIS or session.scalar(earlier.limit(1)) is not None


def _branch_head(head: AuditChain, seq: int, prev: str) -> bool:
    """A head moved to a branch's start by a restore, before its first record."""
    return head.last_seq % BRANCH == 0 and head.last_seq > seq and head.last_hash == prev


def _link_problem(audit: AuditRecord, seq: int, prev: str) -> str | None:
    if audit.chain_seq != seq:
        return f"record #{seq} is missing (deleted); the next one is #{audit.chain_seq}"
    if audit.prev_hash != prev:
        return "does not follow the record before it (reordered or replaced)"
    if audit.hash != record_hash(audit):
        return "was altered after it was written"
    return None


def _lock_head(session: Session, connection: Connection, node: str) -> tuple[int, str]:
    """The chain head's sequence and hash, its row locked (FOR UPDATE on MySQL; on SQLite
    the transaction holds the database's write lock). The first record of a node makes
    the row; the session forgets it again, as the head is only ever written here."""
    row = connection.execute(_LOCK_HEAD, {"head": node}).first()
    if row is not None:
        return row.last_seq, row.last_hash
    head = locked_row(session, AuditChain, node, lambda: _new_head(session, node))
    session.expunge(head)
    return head.last_seq, head.last_hash


def _new_head(session: Session, node: str) -> AuditChain:
    """A head continuing from the node's last record, if there is one."""
    last = session.scalar(
        select(AuditRecord)
        .where(AuditRecord.origin_node == node)
        .order_by(AuditRecord.chain_seq.desc())
        .limit(1)
    )
    return AuditChain(
        node=node,
        last_seq=last.chain_seq if last else 0,
        last_hash=last.hash if last else GENESIS,
    )


def _who(who: Actor | Who) -> Who:
    return Who.of(who) if isinstance(who, Actor) else who


def _clip(name: str, value: str | None) -> str | None:
    return value[: _LIMITS[name]] if value is not None else None


def _plain(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The detail as plain JSON values, so the stored and the hashed forms agree."""
    if detail is None:
        return None
    return json.loads(json.dumps(dict(detail), default=str))


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
