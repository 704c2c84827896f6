"""Changes as they travel: built from the change log and the rows' current state.

A log entry says a row was touched; the change sent for it carries the row's current
values of the touched columns, each with its current version. Several edits of one row
in a batch therefore travel as one change, and a value overwritten later is never sent.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, text

from sync import codec
from sync.capture import captured_columns
from sync.clock import Version
from sync.policy import sync_spec

OPS = frozenset({"i", "u", "d", "s"})  # insert, update, delete (tombstone), snapshot
FULL_OPS = frozenset({"i", "s"})


class ProtocolError(ValueError):
    """A change or batch from a peer is malformed."""


@dataclass
class Change:
    """One row's change. `values` are encoded; `versions` lists only the columns whose
    version differs from `version` (the row's greatest)."""

    table: str
    row_id: str
    op: str
    version: str
    values: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    prior: dict[str, Any] = field(default_factory=dict)
    origin: str | None = None

    def column_version(self, column: str) -> str:
        return self.versions.get(column, self.version)

    def to_wire(self) -> list[Any]:
        item: list[Any] = [self.table, self.row_id, self.op, self.version, self.values]
        extras = [self.versions or None, self.prior or None, self.origin]
        while extras and extras[-1] is None:
            extras.pop()
        return item + extras

    @classmethod
    def from_wire(cls, item: Any) -> Change:
        """Parse one change, refusing anything not exactly of the expected shape."""
        if not isinstance(item, list) or not 5 <= len(item) <= 8:
            raise ProtocolError("a change must be a list of 5 to 8 items")
        table, row_id, op, version, values, *extras = item
        versions, prior, origin = (extras + [None, None, None])[:3]
        _require(isinstance(table, str) and table.isidentifier(), "bad table name")
        _require(isinstance(row_id, str) and 0 < len(row_id) <= 36, "bad row id")
        _require(isinstance(op, str) and op in OPS, f"unknown operation {op!r}")
        _require(isinstance(version, str) and _is_version(version), "bad version")
        _require(isinstance(values, dict), "values must be an object")
        _require(versions is None or _versions_ok(versions), "bad column versions")
        _require(prior is None or isinstance(prior, dict), "prior must be an object")
        _require(
            origin is None or (isinstance(origin, str) and 0 < len(origin) <= 32), "bad origin"
        )
        return cls(table, row_id, op, version, values, versions or {}, prior or {}, origin)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProtocolError(message)


def _is_version(text_: str) -> bool:
    try:
        Version.parse(text_)
    except ValueError:
        return False
    return len(text_) <= 64


def _versions_ok(versions: Any) -> bool:
    return isinstance(versions, dict) and all(
        isinstance(k, str) and isinstance(v, str) and _is_version(v) for k, v in versions.items()
    )


@dataclass(frozen=True)
class Entry:
    """One row of `sync_change`."""

    seq: int
    commit_seq: int | None
    table_name: str
    row_id: str
    op: str
    columns: tuple[str, ...]
    prior: Mapping[str, Any]
    version: str
    node: str

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        columns = tuple(json.loads(row.columns)) if row.columns else ()
        prior = json.loads(row.prior) if row.prior else {}
        return cls(
            row.seq,
            row.commit_seq,
            row.table_name,
            row.row_id,
            row.op,
            columns,
            prior,
            row.version,
            row.node,
        )


ENTRY_COLUMNS = "seq, commit_seq, table_name, row_id, op, columns, prior, version, node"


def own_entries(connection: Connection, node: str, after: int, limit: int) -> list[Entry]:
    """This node's own changes after `after`, oldest first: what it has to push."""
    rows = connection.execute(
        text(
            f"SELECT {ENTRY_COLUMNS} FROM sync_change "  # noqa: S608  # nosec B608 - fixed column list
            "WHERE node = :node AND seq > :after ORDER BY seq LIMIT :limit"
        ),
        {"node": node, "after": after, "limit": limit},
    )
    return [Entry.from_row(row) for row in rows]


def materialize(
    connection: Connection, tables: Mapping[str, Table], entries: Iterable[Entry]
) -> list[Change]:
    """The changes to send for `entries`: one per row, in order of first appearance."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        if entry.table_name in tables:
            groups.setdefault((entry.table_name, entry.row_id), []).append(entry)
    by_table: dict[str, list[str]] = {}
    for table_name, row_id in groups:
        by_table.setdefault(table_name, []).append(row_id)
    state = {name: load_rows(connection, tables[name], ids) for name, ids in by_table.items()}
    changes = []
    for (table_name, row_id), group in groups.items():
        rows, clocks = state[table_name]
        change = _change(tables[table_name], row_id, group, rows.get(row_id), clocks.get(row_id))
        if change is not None:
            changes.append(change)
    return changes


def load_rows(
    connection: Connection, table: Table, ids: list[str], *, lock: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rows of `table` with these ids and their column clocks, each by id; `lock`
    locks the rows for update (an applier about to change them)."""
    rows: dict[str, Any] = {}
    clocks: dict[str, Any] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = select(table).where(table.c.id.in_(chunk))
        for row in connection.execute(query.with_for_update() if lock else query):
            rows[row.id] = row
        for clock in connection.execute(
            text(
                "SELECT row_id, base, clocks, deleted FROM sync_clock "
                "WHERE table_name = :t AND row_id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"t": table.name, "ids": chunk},
        ):
            clocks[clock.row_id] = clock
    return rows, clocks


def column_versions(row: Any, clock: Any, columns: Iterable[str]) -> dict[str, str]:
    """Each column's current version (see the protocol, section 2)."""
    if clock is None:
        return {column: row.version for column in columns}
    explicit = json.loads(clock.clocks) if clock.clocks else {}
    base = clock.base or row.version
    return {column: explicit.get(column, base) for column in columns}


def _change(table: Table, row_id: str, group: list[Entry], row: Any, clock: Any) -> Change | None:
    if row is None:
        if clock is not None and clock.deleted:
            return Change(table.name, row_id, "d", clock.deleted)
        return None  # rolled back or never here: nothing to send
    captured = captured_columns(table)
    full = any(entry.op in FULL_OPS for entry in group)
    if full:
        columns = captured
    else:
        touched = {column for entry in group for column in entry.columns}
        columns = tuple(column for column in captured if column in touched)
    if not columns:
        return None
    versions = column_versions(row, clock, columns)
    top = max(versions.values())
    encoders = _encoders(table)
    values = {}
    for column in columns:
        value, encoder = getattr(row, column), encoders[column]
        values[column] = value if encoder is None else encoder(value)
    change = Change(
        table.name,
        row_id,
        "i" if full else "u",
        top,
        values,
        {column: v for column, v in versions.items() if v != top},
        origin=row.origin_node if full else None,
    )
    if not full:
        change.prior = _prior(table, group, columns)
    return change


@functools.cache
def _encoders(table: Table) -> dict[str, Callable[[Any], Any] | None]:
    """Each captured column's encoder (`codec.encoder`), resolved once per table."""
    return {name: codec.encoder(table.c[name]) for name in captured_columns(table)}


def _prior(table: Table, group: list[Entry], columns: Sequence[str]) -> dict[str, Any]:
    """For union columns: their value before the earliest edit in the group."""
    spec = sync_spec(table)
    prior: dict[str, Any] = {}
    for column in spec.union_columns if spec else ():
        if column not in columns:
            continue
        for entry in group:
            if column in entry.prior:
                raw = entry.prior[column]
                prior[column] = json.loads(raw) if isinstance(raw, str) else raw
                break
    return prior
