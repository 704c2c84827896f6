"""A vehicle's starting snapshot (protocol, section 5a): the current state of every row it
should hold, sent in large chunks instead of replaying the change log row by row.

The hub reads each chunk with one keyset-paged query per table (rows in the vehicle's
scope, their column clocks joined in), after subscribing the vehicle to its patients and
users with set-based statements. The edge inserts the rows it does not have with one
`executemany` per table; a row it already has, a tombstone, a value that does not fit or
a batch the database refuses goes through the ordinary `Applier`, so merge by version,
deletes-win and quarantine keep their meaning. The inserted rows are not logged in the
edge's change log (`capture.unlogged_inserts`): it is read there only for the edge's own
changes, so nothing is pushed back and nothing is lost; later edits of the rows, by the
crew or pulled from the hub, are logged as ever.
"""

from __future__ import annotations

import contextlib
import gc
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Dialect,
    FromClause,
    Table,
    and_,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.exc import IntegrityError

from sync import capture, codec
from sync.apply import Applier, Outcome
from sync.capture import captured_columns
from sync.change import Change, ProtocolError, column_versions
from sync.clock import node_of
from sync.policy import Scope, sync_spec
from sync.scope import Subscriber

CHUNK_ROWS = 5_000  # rows the hub puts in one chunk unless asked for fewer
MAX_CHUNK_ROWS = 20_000

_clock = table(
    "sync_clock", column("table_name"), column("row_id"), column("base"), column("clocks")
)
_subscription = table(
    "sync_subscription", column("vehicle_id"), column("scope_kind"), column("scope_id")
)


@dataclass(frozen=True)
class Position:
    """Where the next chunk starts: after row `after` of `table` (None: the beginning)."""

    table: str | None = None
    after: str = ""

    def to_wire(self) -> list[Any]:
        return [self.table, self.after]

    @classmethod
    def from_wire(cls, data: Any) -> Position:
        _require(isinstance(data, list) and len(data) == 2, "bad position")
        table_name, after = data
        _require(table_name is None or isinstance(table_name, str), "bad position")
        _require(isinstance(after, str) and len(after) <= 36, "bad position")
        return cls(table_name, after)


@dataclass(frozen=True)
class Part:
    """Rows of one table: `[id, origin, version, versions | None, *values]`."""

    table: str
    columns: list[str]
    rows: list[list[Any]]

    def changes(self) -> Iterator[Change]:
        width = 4 + len(self.columns)
        for row in self.rows:
            _require(isinstance(row, list) and len(row) == width, "bad snapshot row")
            row_id, origin, version, versions, *values = row
            item = [self.table, row_id, "s", version, dict(zip(self.columns, values, strict=True))]
            yield Change.from_wire([*item, versions, None, origin])


@dataclass(frozen=True)
class Chunk:
    """One chunk; `next` is None after the last. `through` is the commit sequence the
    snapshot covers (pull the log from there), `total` the rows in all (first chunk)."""

    through: int
    parts: list[Part]
    next: Position | None
    total: int | None = None

    @property
    def rows(self) -> int:
        return sum(len(part.rows) for part in self.parts)

    def to_wire(self) -> dict[str, Any]:
        return {
            "through": self.through,
            "total": self.total,
            "parts": [[p.table, p.columns, p.rows] for p in self.parts],
            "next": self.next.to_wire() if self.next else None,
        }

    @classmethod
    def from_wire(cls, data: Any) -> Chunk:
        _require(isinstance(data, dict), "the snapshot must be an object")
        through, total, parts = data.get("through"), data.get("total"), data.get("parts")
        _require(isinstance(through, int) and through >= 0, "bad snapshot sequence")
        _require(total is None or isinstance(total, int), "bad snapshot total")
        _require(isinstance(parts, list), "bad snapshot parts")
        parsed = []
        for part in parts:
            _require(isinstance(part, list) and len(part) == 3, "bad snapshot part")
            name, columns, rows = part
            _require(isinstance(name, str) and name.isidentifier(), "bad snapshot table")
            _require(isinstance(columns, list) and all(isinstance(c, str) for c in columns), "bad")
            _require(isinstance(rows, list), "bad snapshot rows")
            parsed.append(Part(name, columns, rows))
        raw_next = data.get("next")
        position = Position.from_wire(raw_next) if raw_next is not None else None
        return cls(through, parsed, position, total)


class _Collector:
    """Pauses Python's cyclic garbage collector while any thread reads, unpacks or applies
    a chunk. A chunk is ~100,000 lists and dicts that live until it is written, so every
    collection meanwhile walks them (and the rest of the heap) for nothing: a tenth of a
    load's time. Reference counting still frees them; the collector resumes, if it was
    running, when the last pause ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pauses = 0
        self._resume = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            if self._pauses == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._pauses += 1
        try:
            yield
        finally:
            with self._lock:
                self._pauses -= 1
                if self._pauses == 0 and self._resume:
                    gc.enable()


collection_paused = _Collector().paused


# ---------------------------------------------------------------- hub: subscribe


def subscribe_all(
    connection: Connection, tables: Mapping[str, Table], who: Subscriber, after: int, through: int
) -> None:
    """Set-based `scope.refresh` for a snapshot: subscribe the vehicle to every patient
    and user its changes in (after, through] make it need, with no per-row snapshot
    entries (the snapshot carries the rows)."""
    params = {"v": who.vehicle_id, "after": after, "through": through}
    sources = [
        ("patient", name, "patient_id")
        for name, t in tables.items()
        if "patient_id" in t.c and _scope(t) is Scope.VEHICLE
    ]
    sources.append(("user", "user_vehicle", "user_id"))
    for kind, name, key in sources:
        if name not in tables:
            continue
        _subscribe_from(connection, kind, name, key, params)
    for kind in ("patient", "user"):
        if kind in tables:
            _subscribe_written(connection, kind, params)


def _subscribe_from(
    connection: Connection, kind: str, name: str, key: str, params: dict[str, Any]
) -> None:
    target = "patient" if kind == "patient" else "user"
    found = connection.scalars(
        text(
            f"SELECT DISTINCT t.{key} FROM sync_change AS c "  # noqa: S608  # nosec B608 - model names
            f"JOIN {name} AS t ON t.id = c.row_id JOIN `{target}` AS p ON p.id = t.{key} "
            f"WHERE c.table_name = '{name}' AND c.scope_kind = 'vehicle' AND c.scope_id = :v "
            "AND c.commit_seq > :after AND c.commit_seq <= :through AND c.op <> 's' "
            "AND NOT EXISTS (SELECT 1 FROM sync_subscription AS s WHERE s.vehicle_id = :v "
            f"  AND s.scope_kind = '{kind}' AND s.scope_id = t.{key})"
        ),
        params,
    ).all()
    _subscribe(connection, kind, found, params)


def _subscribe_written(connection: Connection, kind: str, params: dict[str, Any]) -> None:
    """Patients the vehicle's devices registered or edited; emergency accounts made on
    them (`kind` is the table, and the scope kind, of each)."""
    found = connection.scalars(
        text(
            f"SELECT DISTINCT c.row_id FROM sync_change AS c JOIN `{kind}` AS p "  # noqa: S608  # nosec B608 - a fixed table name
            f"ON p.id = c.row_id WHERE c.table_name = '{kind}' AND c.scope_kind = '{kind}' "
            "AND c.node IN (SELECT id FROM device WHERE vehicle_id = :v) "
            "AND c.commit_seq > :after AND c.commit_seq <= :through AND c.op <> 's' "
            "AND NOT EXISTS (SELECT 1 FROM sync_subscription AS s WHERE s.vehicle_id = :v "
            f"  AND s.scope_kind = '{kind}' AND s.scope_id = c.row_id)"
        ),
        params,
    ).all()
    _subscribe(connection, kind, found, params)


def _subscribe(
    connection: Connection, kind: str, ids: Sequence[str], params: dict[str, Any]
) -> None:
    """One executemany; the ids were found by plain (non-locking) reads, so devices
    pushing meanwhile are not held up by locks on the change log."""
    if ids:
        connection.execute(
            text(
                "INSERT INTO sync_subscription (vehicle_id, scope_kind, scope_id, since_seq, "
                "backfilled) VALUES (:v, :k, :s, :through, :b)"
            ),
            [
                {"v": params["v"], "k": kind, "s": i, "through": params["through"], "b": True}
                for i in ids
            ],
        )


# ---------------------------------------------------------------- hub: read


def read(
    connection: Connection,
    tables: Mapping[str, Table],
    who: Subscriber,
    position: Position,
    limit: int,
    through: int,
) -> Chunk:
    """Up to `limit` rows in the vehicle's scope from `position` on, table by table in
    dependency order (parents first), each table by id."""
    names = check(tables, position)
    first = position.table is None
    total = _total(connection, tables, who, names) if first else None
    start = 0 if first else names.index(str(position.table))
    parts: list[Part] = []
    left, after = limit, position.after
    for name in names[start:]:
        part = _read_table(connection, tables[name], who, after, left)
        if part.rows:
            parts.append(part)
            left -= len(part.rows)
        if left == 0:
            return Chunk(through, parts, Position(name, part.rows[-1][0]), total)
        after = ""
    return Chunk(through, parts, None, total)


def check(tables: Mapping[str, Table], position: Position) -> list[str]:
    """The tables a snapshot holds, in order; ProtocolError if `position` names another."""
    names = [name for name, t in tables.items() if _scope(t) not in (None, Scope.HUB)]
    if position.table is not None and position.table not in names:
        raise ProtocolError(f"no snapshot of table {position.table!r}")
    return names


def _read_table(connection: Connection, t: Table, who: Subscriber, after: str, limit: int) -> Part:
    columns = list(captured_columns(t))
    source, condition, key = _paged(t, who)
    query = (
        select(
            t.c.id,
            t.c.origin_node,
            t.c.version,
            _clock.c.row_id.label("clock_row"),
            _clock.c.base,
            _clock.c.clocks,
            *(t.c[c] for c in columns),
        )
        .select_from(
            source.outerjoin(_clock, and_(_clock.c.table_name == t.name, _clock.c.row_id == t.c.id))
        )
        .where(condition, key > after)
        .order_by(key)
        .limit(limit)
    )
    # By position, and only the values that need it encoded: a chunk is ~100,000 values.
    encoders = [(i, f) for i, c in enumerate(columns) if (f := codec.encoder(t.c[c])) is not None]
    rows = []
    for row in connection.execute(query):
        row_id, origin, version, clock_row, _, _, *values = row
        top, odd = version, None
        if clock_row is not None:
            versions = column_versions(row, row, columns)
            top = max(versions.values(), default=version)
            odd = {c: v for c, v in versions.items() if v != top} or None
        for i, encode in encoders:
            values[i] = encode(values[i])
        rows.append([row_id, origin, top, odd, *values])
    return Part(t.name, columns, rows)


def _paged(t: Table, who: Subscriber) -> tuple[FromClause, Any, ColumnElement[Any]]:
    """Where the vehicle's rows of `t` are read from, the condition, and the key to page
    them by. Subscribed rows (patients, users) are read from the vehicle's subscriptions
    in the order of their primary key, so a chunk reads just its rows: with `_in_scope`'s
    EXISTS, MariaDB joins and sorts every subscribed row left for each chunk."""
    spec = sync_spec(t)
    assert spec is not None  # noqa: S101  # nosec B101 - only synced tables reach here
    if spec.scope not in (Scope.PATIENT, Scope.USER):
        return t, _in_scope(t, who), t.c.id
    s = _subscription.c
    scope_key = t.c[spec.scope_column or "id"]
    source = t.join(
        _subscription,
        and_(
            s.vehicle_id == who.vehicle_id,
            s.scope_kind == spec.scope.value,
            s.scope_id == scope_key,
        ),
    )
    # one row per subscription when the row is the subscribed one: page by the subscription
    return source, true(), s.scope_id if scope_key is t.c.id else t.c.id


def _in_scope(t: Table, who: Subscriber) -> Any:
    spec = sync_spec(t)
    assert spec is not None  # noqa: S101  # nosec B101 - only synced tables reach here
    if spec.scope is Scope.ALL:
        return true()
    key = t.c[spec.scope_column or "id"]
    if spec.scope is Scope.VEHICLE:
        return key == who.vehicle_id
    s = _subscription.c
    return exists().where(
        s.vehicle_id == who.vehicle_id, s.scope_kind == spec.scope.value, s.scope_id == key
    )


def _total(
    connection: Connection, tables: Mapping[str, Table], who: Subscriber, names: list[str]
) -> int:
    counted = 0
    for name in names:
        t = tables[name]
        query = select(func.count(literal_column("1"))).select_from(t).where(_in_scope(t, who))
        counted += int(connection.scalar(query) or 0)
    return counted


def _scope(t: Table) -> Scope | None:
    spec = sync_spec(t)
    return spec.scope if spec else None


# ---------------------------------------------------------------- edge: apply


def apply(
    connection: Connection, tables: Mapping[str, Table], chunk: Chunk, applier: Applier
) -> Outcome:
    """Apply one chunk inside the caller's transaction: new rows by `executemany`, the
    rest (and anything the fast path cannot take) through `applier`."""
    outcome = Outcome()
    for part in chunk.parts:
        t = tables.get(part.table)
        if t is None or sync_spec(t) is None:
            raise ProtocolError(f"{part.table} is not a synced table")
        changes = list(part.changes())
        fresh, others = _split(connection, t, changes)
        if fresh and not _insert_all(connection, t, part.columns, fresh, outcome):
            others = fresh + others
        if others:
            merged = applier.apply(others)
            outcome.applied += merged.applied
            outcome.unchanged += merged.unchanged
            outcome.quarantined += merged.quarantined
            if merged.highest:
                outcome.saw(merged.highest)
    return outcome


def _split(
    connection: Connection, t: Table, changes: list[Change]
) -> tuple[list[Change], list[Change]]:
    """Rows this node has never seen (no row, no tombstone), and the others. A part is a
    run of ids in key order, so one range read per table finds what the node holds in
    it (nothing, on a new laptop) instead of an IN list per few hundred rows."""
    if not changes:
        return [], []
    ids = [c.row_id for c in changes]
    low, high = min(ids), max(ids)
    known = set(connection.scalars(select(t.c.id).where(t.c.id.between(low, high))))
    known |= set(
        connection.scalars(
            select(_clock.c.row_id).where(
                _clock.c.table_name == t.name,
                _clock.c.row_id.between(low, high),
                column("deleted").isnot(None),
            )
        )
    )
    fresh = [c for c in changes if c.row_id not in known]
    return fresh, [c for c in changes if c.row_id in known]


def _insert_all(
    connection: Connection, t: Table, columns: list[str], changes: list[Change], outcome: Outcome
) -> bool:
    """One executemany for the rows, unlogged (`capture.unlogged_inserts`), and one for
    their column clocks; False when the part's columns or a value do not fit, or the
    database refuses the batch (nothing of it is kept then).

    The rows go in as the driver's values, converted column by column (`codec.decoder`,
    then the column type's own bind processing), rather than through `insert(t)`, whose
    per-row parameter handling costs as much as the insert itself."""
    allowed = captured_columns(t)
    missing = [t.c[c] for c in allowed if c not in columns]
    if set(columns) - set(allowed) or any(not c.nullable or c.default for c in missing):
        return False
    dialect = connection.dialect
    converters = [_stored(t.c[c], dialect) for c in columns]
    rows, clocks = [], []
    try:
        for change in changes:
            values = [f(raw) for f, raw in zip(converters, change.values.values(), strict=True)]
            origin = change.origin or node_of(change.version)
            rows.append((change.row_id, origin, change.version, *values))
            if change.versions:
                clocks.append(
                    {
                        "t": t.name,
                        "r": change.row_id,
                        "b": change.version,
                        "c": json.dumps(change.versions),
                    }
                )
    except ValueError:  # a DecodeError, or a value the column type refuses
        return False
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in ["id", "origin_node", "version", *columns])
    marks = ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * (3 + len(columns)))
    try:
        with capture.unlogged_inserts(connection, t):
            connection.exec_driver_sql(
                f"INSERT INTO {quote(t.name)} ({names}) VALUES ({marks})",  # noqa: S608  # nosec B608 - model identifiers, values bound
                rows,
            )
            if clocks:
                connection.execute(
                    text(
                        "INSERT INTO sync_clock (table_name, row_id, base, clocks, deleted) "
                        "VALUES (:t, :r, :b, :c, NULL)"
                    ),
                    clocks,
                )
    except IntegrityError:
        return False
    outcome.applied += len(rows)
    for change in changes:
        outcome.saw(change.version)
    return True


def _stored(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """A wire value of `column` as the driver takes it: checked and decoded, then bound
    the way the column type binds it on this database."""
    decode = codec.decoder(column)
    bind = column.type.dialect_impl(dialect).bind_processor(dialect)
    if bind is None:
        return decode
    return lambda raw: bind(decode(raw))


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProtocolError(message)
