"""Who receives what: the hub's filtered pull (protocol, section 4).

A vehicle receives reference data (`all`), its own rows (`vehicle`), and the patients and
users it is subscribed to. Subscriptions are derived from the vehicle's own data as it
changes: a visit, appointment or claim of the vehicle subscribes it to that patient; a
patient its devices registered or edited, too (the hub accepted those writes only of
patients the vehicle holds or made, `sync.rules`); a user assignment to the user, and an
emergency account made on one of its laptops to that account. A new
subscription appends a snapshot entry to the log, so the row's current state is sent
once, in commit order, before any later change of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Connection, Table, bindparam, select, text

from sync.change import ENTRY_COLUMNS, Entry
from sync.sequence import visible_through


@dataclass(frozen=True)
class Subscriber:
    device: str
    vehicle_id: str


@dataclass(frozen=True)
class ScopeTables:
    """The tables subscriptions are derived from."""

    patient: str = "patient"
    user: str = "user"
    user_link: str = "user_vehicle"
    device: str = "device"


def pull_entries(
    connection: Connection, who: Subscriber, after: int, through: int, limit: int
) -> list[Entry]:
    """Changes this vehicle should receive, in commit order, excluding its device's own."""
    rows = connection.execute(
        text(
            f"SELECT {ENTRY_COLUMNS} FROM sync_change AS c "  # noqa: S608  # nosec B608 - fixed column list
            f"WHERE {_FOR_SUBSCRIBER} ORDER BY c.commit_seq LIMIT :limit"
        ),
        {**_bound(who, after, through), "limit": limit},
    )
    return [Entry.from_row(row) for row in rows]


def pending(connection: Connection, who: Subscriber, after: int) -> int:
    """How many changes wait for this vehicle beyond its pull cursor (for head office's
    device list; the same filter as `pull_entries`)."""
    sql = f"SELECT count(*) FROM sync_change AS c WHERE {_FOR_SUBSCRIBER}"  # noqa: S608  # nosec B608 - fixed filter, values bound
    query = text(sql)
    found = connection.scalar(query, _bound(who, after, visible_through(connection)))
    return int(found or 0)


# The changes a vehicle receives: reference data, its own rows, and what it subscribes to.
_FOR_SUBSCRIBER = (
    "c.commit_seq > :after AND c.commit_seq <= :through AND c.node <> :device "
    "AND (c.scope_kind = 'all' "
    "  OR (c.scope_kind = 'vehicle' AND c.scope_id = :vehicle) "
    "  OR (c.scope_kind IN ('patient', 'user') AND EXISTS ("
    "      SELECT 1 FROM sync_subscription AS s WHERE s.vehicle_id = :vehicle "
    "      AND s.scope_kind = c.scope_kind AND s.scope_id = c.scope_id)))"
)


def _bound(who: Subscriber, after: int, through: int) -> dict[str, object]:
    return {"after": after, "through": through, "device": who.device, "vehicle": who.vehicle_id}


def refresh(
    connection: Connection,
    tables: Mapping[str, Table],
    who: Subscriber,
    after: int,
    names: ScopeTables = ScopeTables(),
) -> int:
    """Subscribe the vehicle to what its changes since `after` make it need; returns the
    commit sequence the refresh has seen up to (store it as the next `after`)."""
    through = visible_through(connection)
    entries = _vehicle_entries(connection, who, after, through, names.device)
    patients: set[str] = set()
    users: set[str] = set()
    for table_name, row_ids in _by_table(entries).items():
        table = tables.get(table_name)
        if table is None:
            continue
        if table_name == names.user_link:
            users |= _column_values(connection, table, row_ids, "user_id")
        elif table_name == names.user:
            users |= set(row_ids)
        elif table_name == names.patient:
            patients |= set(row_ids)
        elif "patient_id" in table.c:
            patients |= _column_values(connection, table, row_ids, "patient_id")
    patient_table = tables.get(names.patient)
    user_table = tables.get(names.user)
    if patient_table is not None:
        _subscribe(connection, who, "patient", patient_table, patients)
    if user_table is not None:
        _subscribe(connection, who, "user", user_table, users)
    return through


def _vehicle_entries(
    connection: Connection, who: Subscriber, after: int, through: int, device_table: str
) -> list[tuple[str, str]]:
    """(table, row) touched since `after` in the vehicle's scope, or patients and accounts
    its devices wrote."""
    rows = connection.execute(
        text(
            "SELECT table_name, row_id FROM sync_change WHERE commit_seq > :after "  # noqa: S608  # nosec B608 - identifiers checked, values bound
            "AND commit_seq <= :through AND op <> 's' AND ("
            "  (scope_kind = 'vehicle' AND scope_id = :vehicle) OR "
            "  (scope_kind IN ('patient', 'user') AND node IN ("
            f"     SELECT id FROM {device_table} WHERE vehicle_id = :vehicle)))"
        ),
        {"after": after, "through": through, "vehicle": who.vehicle_id},
    )
    return [(row.table_name, row.row_id) for row in rows]


def _by_table(entries: list[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for table_name, row_id in entries:
        grouped.setdefault(table_name, []).append(row_id)
    return grouped


def _column_values(
    connection: Connection, table: Table, row_ids: list[str], column: str
) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(sorted(set(row_ids))):
        query = select(table.c[column]).where(table.c.id.in_(chunk)).distinct()
        found |= {value for value in connection.scalars(query) if value}
    return found


def _subscribe(
    connection: Connection, who: Subscriber, kind: str, table: Table, ids: set[str]
) -> None:
    """Subscribe to the rows among `ids` not subscribed yet, a few statements for all of
    them: a day's push brings a hundred new patients at once."""
    new = sorted(ids - _subscribed(connection, who, kind, ids))
    if not new:
        return
    versions: dict[str, str] = {}
    for chunk in _chunks(new):
        query = select(table.c.id, table.c.version).where(table.c.id.in_(chunk))
        versions.update({row.id: row.version for row in connection.execute(query)})
    here = [scope_id for scope_id in new if scope_id in versions]  # absent: a later refresh
    if not here:
        return
    since = visible_through(connection)
    connection.execute(
        text(
            "INSERT INTO sync_subscription (vehicle_id, scope_kind, scope_id, since_seq, "
            "backfilled) VALUES (:v, :k, :s, :since, :b)"
        ),
        [{"v": who.vehicle_id, "k": kind, "s": s, "since": since, "b": True} for s in here],
    )
    elsewhere = _written_elsewhere(connection, table.name, here, who.device)
    _snapshot(connection, who, table.name, [(s, versions[s]) for s in here if s in elsewhere])


def _subscribed(connection: Connection, who: Subscriber, kind: str, ids: set[str]) -> set[str]:
    found: set[str] = set()
    query = text(
        "SELECT scope_id FROM sync_subscription WHERE vehicle_id = :v "
        "AND scope_kind = :k AND scope_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for chunk in _chunks(sorted(ids)):
        found |= set(connection.scalars(query, {"v": who.vehicle_id, "k": kind, "ids": chunk}))
    return found


def _written_elsewhere(
    connection: Connection, table_name: str, row_ids: list[str], device: str
) -> set[str]:
    """The rows anyone but this device wrote: the device has the others all already."""
    found: set[str] = set()
    query = text(
        "SELECT DISTINCT row_id FROM sync_change WHERE table_name = :t AND row_id IN :ids "
        "AND node <> :d"
    ).bindparams(bindparam("ids", expanding=True))
    for chunk in _chunks(row_ids):
        found |= set(connection.scalars(query, {"t": table_name, "ids": chunk, "d": device}))
    return found


def _snapshot(
    connection: Connection, who: Subscriber, table_name: str, rows: list[tuple[str, str]]
) -> None:
    """A snapshot entry per row, so its current state is sent once, in commit order."""
    if not rows:
        return
    tx = None
    if connection.dialect.name != "sqlite":
        tx = connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
    connection.execute(
        text(
            "INSERT INTO sync_change (table_name, row_id, op, columns, prior, version, node, "
            "scope_kind, scope_id, tx) VALUES (:t, :r, :op, :none, :none, :ver, :node, "
            ":kind, :v, :tx)"
        ),
        [
            {
                "t": table_name,
                "r": row_id,
                "op": "s",
                "none": None,
                "ver": version,
                "node": "hub",
                "kind": "vehicle",
                "v": who.vehicle_id,
                "tx": tx,
            }
            for row_id, version in rows
        ],
    )


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
