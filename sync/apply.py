"""Applying changes from a peer: field-by-field merge by version, policy checks,
three-way merge of union columns at the hub, and quarantine of what cannot be applied.

A batch is first applied whole, its rows read and written a table at a time
(`sync.writes.BatchedWrites`). A change that is malformed or refused by the rules is
quarantined with its reason and the rest still apply. When the database rejects the
batch (a missing parent row, a constraint), that attempt is rolled back and the batch is
applied again one change at a time, each in its own savepoint, so the change at fault is
rolled back alone and quarantined with the database's reason. Lock and deadlock errors
are not quarantined: they abort the whole batch so it can be retried.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, Row, Table, insert, select, table, text
from sqlalchemy import column as col
from sqlalchemy.exc import DBAPIError

from sync import codec
from sync.capture import captured_columns, delete_row, log_rewrite, record_tombstone
from sync.change import FULL_OPS, Change, ProtocolError, column_versions
from sync.clock import naive_utc, node_of
from sync.merge import merge_lists, same_list
from sync.policy import Policy, SyncSpec, sync_spec
from sync.writes import BatchedWrites, LiveWrites

_RETRYABLE_MYSQL = {1205, 1213, 2006, 2013}


class Refused(Exception):
    """The rules do not allow this change; the message says why. A `final` refusal (the
    sender had no right to make it) is held for good, never retried."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final


@dataclass(frozen=True)
class Refusal:
    """Why the rules refuse a change. `final`: never retried. `reassert`: the receiver's
    row is written again under a new version of its own, so the sender's replica, which
    took the refused value locally, comes back to the receiver's (section 3a)."""

    reason: str
    final: bool = False
    reassert: bool = False


class Rules(Protocol):
    """What a node accepts from the peer whose changes it is applying (`sync.rules`)."""

    merges_unions: bool
    keeps_losers: bool  # record every concurrent value a merge discards (the hub)

    def saw(
        self, connection: Connection, table: str, row_id: str, column: str, version: str
    ) -> bool:
        """Whether the peer had this node's `version` of the column when it made its edit."""
        ...

    def prepare(
        self, connection: Connection, tables: Mapping[str, Table], changes: Sequence[Change]
    ) -> None: ...

    def refusal(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> Refusal | None: ...

    def held_columns(self, connection: Connection, change: Change, spec: SyncSpec) -> set[str]: ...

    def keeps_tombstone(self, connection: Connection, change: Change) -> bool: ...


@dataclass
class Outcome:
    applied: int = 0
    unchanged: int = 0
    quarantined: list[tuple[Change, str]] = field(default_factory=list)
    final: set[int] = field(default_factory=set)  # positions in `quarantined` held for good
    reasserted: list[Change] = field(default_factory=list)  # refused; rows written again
    conflicts: int = 0
    highest: str | None = None

    def saw(self, version: str) -> None:
        if self.highest is None or version > self.highest:
            self.highest = version


def is_retryable(error: BaseException) -> bool:
    """Lock waits, deadlocks and lost connections: retry the batch, do not quarantine.

    A deadlock rolls back MySQL's whole transaction, savepoints and locks with it, so the
    savepoint the applier then rolls back to is gone; the error that says so carries the
    deadlock as its context, and must be retried as the deadlock, never taken for the
    change's fault (the rest of the batch would go on in a new transaction, its first
    part lost and its locks released)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, DBAPIError) and _retryable_here(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _retryable_here(error: DBAPIError) -> bool:
    orig = error.orig
    code = orig.args[0] if orig is not None and orig.args else None
    if isinstance(code, int) and code in _RETRYABLE_MYSQL:
        return True
    message = str(orig).lower()
    return "database is locked" in message or "database table is locked" in message


class Applier:
    """Applies one peer's changes on one connection inside the caller's transaction."""

    def __init__(
        self,
        connection: Connection,
        tables: Mapping[str, Table],
        rules: Rules,
        *,
        peer: str,
        tick: Callable[[str], str],
        now: Callable[[], dt.datetime],
    ) -> None:
        self.connection = connection
        self.tables = tables
        self.rules = rules
        self.peer = peer
        self.tick = tick
        self.now = now

    def apply(self, changes: Sequence[Change], batch_id: str | None = None) -> Outcome:
        ordered = in_order(self.tables, changes)
        self.rules.prepare(self.connection, self.tables, ordered)
        outcome = self._apply_batched(ordered)
        if outcome is None:
            outcome = Outcome()
            live = LiveWrites(self.connection)
            for change in ordered:
                self._note(change, self._try(change, outcome, live), outcome)
        for at, (change, reason) in enumerate(outcome.quarantined):
            self._quarantine(change, reason, batch_id, at in outcome.final)
        for change in outcome.reasserted:
            self._reassert(change)
        return outcome

    def _apply_batched(self, ordered: list[Change]) -> Outcome | None:
        """The whole batch in a few statements; None, with nothing written, when it has to
        go one change at a time: a row named twice (the second change must see the first
        applied), or a database refusal that must be pinned on the change at fault."""
        ids: dict[str, list[str]] = {}
        for change in ordered:
            ids.setdefault(change.table, []).append(change.row_id)
        if sum(len(set(row_ids)) for row_ids in ids.values()) < len(ordered):
            return None
        known = [self.tables[name] for name in ids if name in self.tables]
        outcome = Outcome()
        try:
            with self.connection.begin_nested():
                writes = BatchedWrites(self.connection, known, ids)
                for change in ordered:
                    if change.op == "d":
                        writes.flush()  # deletes come last: children's rows are gone first
                    reason = self._try(change, outcome, writes, savepoint=False)
                    self._note(change, reason, outcome)
                writes.flush()
        except DBAPIError as error:
            if is_retryable(error):
                raise
            return None
        return outcome

    @staticmethod
    def _note(change: Change, refusal: Refused | None, outcome: Outcome) -> None:
        if refusal is not None:
            if refusal.final:
                outcome.final.add(len(outcome.quarantined))
            if isinstance(refusal, _Reasserted):
                outcome.reasserted.append(change)
            outcome.quarantined.append((change, str(refusal)))

    def retry_quarantined(self, limit: int = 200, only: str | None = None) -> int:
        """Apply again what this peer's changes left in quarantine (a parent row may have
        arrived since), or the one held change `only` (a person at head office asks for
        it, final or not); returns how many now applied."""
        q = QUARANTINE.c
        query = select(q.id, q.change).where(q.peer == self.peer, q.resolved_at.is_(None))
        if only is None:
            query = query.where(q.final.is_(False))
        else:
            query = query.where(q.id == only)
        held = self.connection.execute(query.order_by(q.at).limit(limit)).all()
        resolved = 0
        live = LiveWrites(self.connection)
        changes = {row.id: _stored_change(row.change) for row in held}
        self.rules.prepare(self.connection, self.tables, [c for c in changes.values() if c])
        for row in held:
            change = changes[row.id]
            if change is None:
                continue  # not a change at all: it stays held for a person to dismiss
            refusal = self._try(change, Outcome(), live)
            if refusal is None:
                resolved += 1
                self.connection.execute(
                    text(
                        "UPDATE sync_quarantine SET resolved_at = :at, resolved_by = 'sync' "
                        "WHERE id = :id"
                    ),
                    {"at": naive_utc(self.now()), "id": row.id},
                )
            else:
                self.connection.execute(
                    text("UPDATE sync_quarantine SET reason = :r, final = :f WHERE id = :id"),
                    {"r": str(refusal)[:2000], "f": refusal.final, "id": row.id},
                )
        return resolved

    # ------------------------------------------------------------ one change

    def _try(
        self,
        change: Change,
        outcome: Outcome,
        writes: LiveWrites,
        *,
        savepoint: bool = True,
    ) -> Refused | None:
        """Apply one change; why it was not applied, or None. Refusals are found before
        anything of the change is written, so only database errors need the savepoint
        (without one, they abort the caller's batched attempt)."""
        try:
            with self.connection.begin_nested() if savepoint else contextlib.nullcontext():
                applied = self._apply_one(change, outcome, writes)
        except Refused as refusal:
            return refusal
        except (ProtocolError, codec.DecodeError) as error:
            return Refused(str(error))
        except DBAPIError as error:
            if is_retryable(error) or not savepoint:
                raise
            return Refused(_database_reason(error))
        if applied:
            outcome.applied += 1
            outcome.saw(change.version)
        else:
            outcome.unchanged += 1
        return None

    def _apply_one(self, change: Change, outcome: Outcome, writes: LiveWrites) -> bool:
        table = self.tables.get(change.table)
        spec = sync_spec(table) if table is not None else None
        if table is None or spec is None:
            raise Refused(f"{change.table} is not a synced table")
        current = writes.row(table, change.row_id)
        clock = writes.clock(table, change.row_id)
        if clock is not None and clock.deleted:
            return False  # deletes win: the row stays a tombstone
        decoded = _decode(table, change)
        refusal = self.rules.refusal(change, table, spec, current, decoded)
        if refusal is not None:
            kind = _Reasserted if refusal.reassert and current is not None else Refused
            raise kind(refusal.reason, final=refusal.final)
        if change.op == "d":
            return self._delete(table, change, current)
        if current is None:
            return self._insert(table, change, decoded, writes)
        if spec.policy is Policy.APPEND_ONLY:
            return False
        return self._merge(table, spec, change, decoded, current, clock, outcome, writes)

    def _delete(self, table: Table, change: Change, current: Row[Any] | None) -> bool:
        if current is None:
            if not self.rules.keeps_tombstone(self.connection, change):
                return False
            record_tombstone(self.connection, table.name, change.row_id, change.version)
        else:
            delete_row(self.connection, table, change.row_id, change.version)
        return True

    def _insert(
        self, table: Table, change: Change, decoded: Mapping[str, Any], writes: LiveWrites
    ) -> bool:
        if change.op not in FULL_OPS:
            raise Refused("an update for a row this node does not have")
        origin = change.origin or node_of(change.version)
        row = {"id": change.row_id, "origin_node": origin, "version": change.version}
        writes.insert(table, {**row, **decoded})
        if change.versions:
            writes.set_clocks(table, change.row_id, change.version, change.versions)
        return True

    def _merge(
        self,
        table: Table,
        spec: SyncSpec,
        change: Change,
        decoded: Mapping[str, Any],
        current: Row[Any],
        clock: Any,
        outcome: Outcome,
        writes: LiveWrites,
    ) -> bool:
        held = self.rules.held_columns(self.connection, change, spec)
        now_versions = column_versions(current, clock, decoded.keys())
        winners: dict[str, tuple[Any, str]] = {}
        merged: dict[str, Any] = {}
        for column, value in decoded.items():
            if column in held:
                continue
            incoming = change.column_version(column)
            if self._is_union(spec, change, column):
                result = self._union(table, change, column, value, current, now_versions[column])
                if result is not _LWW:
                    merged[column] = result
                    outcome.conflicts += 1
                    continue
            if incoming > now_versions[column]:
                winners[column] = (value, incoming)
            if self.rules.keeps_losers and _contested(
                current, column, value, incoming, now_versions
            ):
                self._keep_loser(table, change, column, current, now_versions[column], outcome)
        if winners:
            self._write(
                writes,
                table,
                change.row_id,
                {c: v for c, (v, _) in winners.items()},
                {c: ver for c, (_, ver) in winners.items()},
                current.version,
            )
        if merged:
            # a new version above both sides, written even where the merge kept this node's
            # value: the writer's replica differs and must receive the merged result
            seen = max([change.version, *now_versions.values()])
            version = self.tick(seen)
            versions = dict.fromkeys(merged, version)
            self._write(writes, table, change.row_id, merged, versions, current.version)
            unchanged = [c for c, value in merged.items() if value == getattr(current, c)]
            if unchanged:
                writes.flush()  # logged after the row's own update, as it would be at once
                log_rewrite(self.connection, table, current, unchanged, version)
        return bool(winners or merged)

    @staticmethod
    def _write(
        writes: LiveWrites,
        table: Table,
        row_id: str,
        values: Mapping[str, Any],
        versions: Mapping[str, str],
        base: str,
    ) -> None:
        writes.update(table, row_id, {**values, "version": max(versions.values())})
        writes.set_clocks(table, row_id, base, versions)

    def _keep_loser(
        self,
        table: Table,
        change: Change,
        column: str,
        current: Row[Any],
        now: str,
        outcome: Outcome,
    ) -> None:
        """Keep the value a merge by version discards when the two edits were concurrent
        (neither writer had seen the other's value), so nothing is silently lost (the
        conflict log, `sync_conflict` with resolution `lww`; invariant 21). An incoming
        edit that orders below the value here cannot have seen it (hybrid logical clocks);
        one that orders above had seen it if the sender had pulled it before."""
        incoming = change.column_version(column)
        if incoming > now and self.rules.saw(
            self.connection, table.name, change.row_id, column, now
        ):
            return
        here = codec.encode(table.c[column], getattr(current, column))
        there = change.values[column]
        self.connection.execute(
            text(
                "INSERT INTO sync_conflict (id, table_name, row_id, column_name, local_value, "
                "remote_value, merged_value, local_version, remote_version, resolution, status, "
                "created_at) VALUES (:id, :t, :r, :c, :lv, :rv, :mv, :lver, :rver, 'lww', "
                "'open', :at)"
            ),
            {
                "id": str(uuid.uuid4()),
                "t": table.name,
                "r": change.row_id,
                "c": column,
                "lv": json.dumps(here),
                "rv": json.dumps(there),
                "mv": json.dumps(there if incoming > now else here),
                "lver": now,
                "rver": incoming,
                "at": naive_utc(self.now()),
            },
        )
        outcome.conflicts += 1

    # ------------------------------------------------------------ union columns

    def _is_union(self, spec: SyncSpec, change: Change, column: str) -> bool:
        return self.rules.merges_unions and column in spec.union_columns and column in change.prior

    def _union(
        self,
        table: Table,
        change: Change,
        column: str,
        incoming: Any,
        current: Row[Any],
        current_version: str,
    ) -> Any:
        """Three-way merge when someone else edited the list since the writer last saw it."""
        prior = change.prior[column]
        here = getattr(current, column)
        if not isinstance(prior, list) or same_list(prior, here):
            return _LWW
        result = merge_lists(prior, here, incoming)
        self.connection.execute(
            text(
                "INSERT INTO sync_conflict (id, table_name, row_id, column_name, local_value, "
                "remote_value, merged_value, local_version, remote_version, resolution, status, "
                "created_at) VALUES (:id, :t, :r, :c, :lv, :rv, :mv, :lver, :rver, 'union', "
                "'open', :at)"
            ),
            {
                "id": str(uuid.uuid4()),
                "t": table.name,
                "r": change.row_id,
                "c": column,
                "lv": json.dumps(here),
                "rv": json.dumps(incoming),
                "mv": json.dumps(result),
                "lver": current_version,
                "rver": change.column_version(column),
                "at": naive_utc(self.now()),
            },
        )
        return result

    def _reassert(self, change: Change) -> None:
        """Write the refused change's columns again with their current values under a new
        version of this node, logged, so they reach the sender: its replica took the
        refused value when it made it, and would keep it for good otherwise. Done after
        the batch, outside the change's savepoint (a refusal rolls that back)."""
        table = self.tables[change.table]
        writes = LiveWrites(self.connection)
        current = writes.row(table, change.row_id)
        if current is None:
            return
        columns = [c for c in change.values if c in captured_columns(table)]
        clock = writes.clock(table, change.row_id)
        versions = column_versions(current, clock, columns)
        version = self.tick(max([change.version, *versions.values()]))
        values = {column: getattr(current, column) for column in columns}
        self._write(
            writes, table, change.row_id, values, dict.fromkeys(columns, version), current.version
        )
        log_rewrite(self.connection, table, current, columns, version)

    # ------------------------------------------------------------ bookkeeping

    def _quarantine(self, change: Change, reason: str, batch_id: str | None, final: bool) -> None:
        """Hold the change aside, unless it is held already: a pull interrupted between
        its slices is applied again from its start, and must not hold a change twice."""
        if not is_held(self.connection, self.peer, change):
            quarantine(self.connection, self.peer, change, reason, batch_id, self.now(), final)


def in_order(tables: Mapping[str, Table], changes: Sequence[Change]) -> list[Change]:
    """Parents before children; deletes last, children's first (by the order of
    `tables`). Any prefix of this order satisfies the foreign keys the whole does, so a
    batch may be applied in slices of it."""
    order = {name: index for index, name in enumerate(tables)}
    last = len(order)
    upserts = [c for c in changes if c.op != "d"]
    deletes = [c for c in changes if c.op == "d"]
    upserts.sort(key=lambda c: order.get(c.table, last))
    deletes.sort(key=lambda c: -order.get(c.table, last))
    return upserts + deletes


QUARANTINE = table(
    "sync_quarantine",
    col("id"),
    col("peer"),
    col("batch_id"),
    col("table_name"),
    col("row_id"),
    col("change"),
    col("reason"),
    col("final"),
    col("at"),
    col("resolved_at"),
    col("resolved_by"),
)


def quarantine(
    connection: Connection,
    peer: str,
    change: Change,
    reason: str,
    batch_id: str | None,
    at: dt.datetime,
    final: bool = False,
) -> None:
    """Hold a change aside with the reason it could not be applied; a `final` refusal is
    never tried again."""
    connection.execute(
        insert(QUARANTINE).values(
            id=str(uuid.uuid4()),
            peer=peer,
            batch_id=batch_id,
            table_name=change.table[:64],
            row_id=change.row_id[:36],
            change=json.dumps(change.to_wire()),
            reason=reason[:2000],
            final=final,
            at=naive_utc(at),
        )
    )


def is_held(connection: Connection, peer: str, change: Change) -> bool:
    """Whether this very change from `peer` waits in quarantine."""
    q = QUARANTINE.c
    query = select(q.id).where(
        q.peer == peer,
        q.table_name == change.table[:64],
        q.row_id == change.row_id[:36],
        q.resolved_at.is_(None),
        q.change == json.dumps(change.to_wire()),
    )
    return connection.execute(query.limit(1)).first() is not None


class _Marker:
    pass


def _contested(
    current: Row[Any], column: str, value: Any, incoming: str, versions: Mapping[str, str]
) -> bool:
    """Different values for one column, one of them about to be discarded unseen: two
    nodes', or one node's older one arriving after its newer (a laptop restored from a
    backup whose clock had gone back: its own earlier value still wins)."""
    if value == getattr(current, column):
        return False
    now = versions[column]
    return node_of(incoming) != node_of(now) or incoming < now


class _Reasserted(Refused):
    """A refusal after which the receiver's row is written again (`Applier._reassert`)."""


_LWW = _Marker()  # not a concurrent union edit: ordinary last-writer-wins


def _decode(table: Table, change: Change) -> dict[str, Any]:
    allowed, required, decoders = _columns(table)
    unknown = change.values.keys() - allowed
    if unknown:
        raise Refused(f"unknown columns for {table.name}: {', '.join(sorted(unknown))}")
    if change.versions.keys() - change.values.keys():
        raise Refused("column versions given for columns not in the change")
    if change.op in FULL_OPS:
        missing = required - change.values.keys()
        if missing:
            raise Refused(f"a new {table.name} row lacks {', '.join(sorted(missing))}")
    return {column: decoders[column](raw) for column, raw in change.values.items()}


@functools.cache
def _columns(table: Table) -> tuple[frozenset[str], frozenset[str], dict[str, Any]]:
    """A table's captured columns, those a new row must have, and each one's decoder:
    resolved once, not for every change applied."""
    allowed = captured_columns(table)
    required = frozenset(c for c in allowed if not table.c[c].nullable)
    return frozenset(allowed), required, {c: codec.decoder(table.c[c]) for c in allowed}


def _stored_change(raw: str) -> Change | None:
    """A held change as it was stored, or None when what is stored is not a change."""
    try:
        return Change.from_wire(json.loads(raw))
    except (ValueError, ProtocolError):
        return None


def _database_reason(error: DBAPIError) -> str:
    message = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
    return f"the database refused it: {message}"[:2000]
