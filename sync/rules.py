"""What each side accepts from the other (protocol, sections 3 and 3a).

A stolen laptop keeps a valid device key, so the hub trusts nothing a device says about
itself: not which node made a change, nor which vehicle owns a row, nor whose patient it
is. It decides every pushed change from its own records (the authority table of the
protocol, section 3a): the device's vehicle (from enrollment), the devices ever enrolled
for that vehicle, each row as the hub holds it (its owning vehicle, the node it was made
on), and the patients the hub has subscribed the vehicle to. Head-office data is changed
only at the hub; a vehicle's rows only by that vehicle's devices; a patient only by a
vehicle that holds them; a delete only of a row made on that vehicle; and no change is
dated further ahead of the hub's clock than `MAX_AHEAD_MS`, so a device cannot poison
the hub's clock for the fleet. An edge applies what the hub sends, except union columns
it has edited and not yet sent (the hub's three-way merge supersedes them) and versions
dated beyond the same bound of the hub's own time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, text

from sync.apply import Refusal
from sync.change import FULL_OPS, Change
from sync.clock import millis_of, node_of, wall_millis
from sync.policy import Policy, Scope, SyncSpec, sync_spec

HOUR_MS = 3600 * 1000
MAX_AHEAD_MS = 24 * HOUR_MS  # how far a change may be dated ahead of the receiver's clock

_SUBSCRIBED = text(
    "SELECT scope_id FROM sync_subscription WHERE vehicle_id = :v "
    "AND scope_kind = 'patient' AND scope_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_SET_BY = text(  # a row's latest log entries, newest first: which one set a column's version
    "SELECT commit_seq, op, version, columns FROM sync_change WHERE table_name = :t "
    "AND row_id = :r ORDER BY seq DESC LIMIT 200"
)
_HELD = text(
    "SELECT 1 FROM sync_quarantine WHERE peer = :p AND table_name = :t AND row_id = :r "
    "AND resolved_at IS NULL"
)


def ahead(versions: Iterable[str], ceiling: int, max_ahead_ms: int) -> str | None:
    """Why a change dated past `ceiling` (the receiver's clock plus `max_ahead_ms`) is
    refused, or None. Not final: the change applies once the receiver's clock is there."""
    if any(millis_of(version) > ceiling for version in versions):
        return _ahead_reason(max_ahead_ms)
    return None


def _ahead_reason(max_ahead_ms: int) -> str:
    return f"dated more than {max_ahead_ms // HOUR_MS} h ahead of head office's clock"


class DeviceRules:
    """The hub applying changes pushed by one device of one vehicle.

    `prepare` reads, in a few statements for a whole batch, the hub's records that the
    refusals consult; `refusal` then decides each change without a query of its own."""

    merges_unions = True
    keeps_losers = True

    def __init__(
        self,
        device: str,
        vehicle_id: str,
        *,
        max_ahead_ms: int = MAX_AHEAD_MS,
        wall: Callable[[], int] | None = None,
        seen: int | None = None,
    ) -> None:
        self.device = device
        self.vehicle_id = vehicle_id
        self.seen = seen  # the hub's commit sequence the device had pulled when it wrote
        self.max_ahead_ms = max_ahead_ms
        self.wall = wall
        self.ceiling = 0
        self.devices: frozenset[str] = frozenset({device})
        self.owners: dict[tuple[str, str], Any] = {}  # (parent table, id): owning vehicle
        self.patients: dict[str, str] = {}  # patient id: the node it was made on
        self.subscribed: set[str] = set()
        self.made_here: dict[tuple[str, str], Mapping[str, Any]] = {}  # this batch's inserts
        self.patient_table = ""
        self.connection: Connection | None = None
        # rows named by their key that another vehicle made first: its values stay
        self.kept_as_is: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ the hub's records

    def prepare(
        self, connection: Connection, tables: Mapping[str, Table], changes: Sequence[Change]
    ) -> None:
        """Load what the refusals of `changes` need: the vehicle's devices, the owners of
        the vehicle-scoped rows they refer to, and the patients they touch or name."""
        self.connection = connection
        self.ceiling = (self.wall or wall_millis)() + self.max_ahead_ms
        if self.seen is None:  # a stored batch: no pull since it was pushed, so the link's
            self.seen = connection.execute(  # cursor is the one it came with
                text("SELECT pull_cursor FROM sync_link WHERE peer = :p"), {"p": self.device}
            ).scalar()
        devices = connection.scalars(
            text("SELECT id FROM device WHERE vehicle_id = :v"), {"v": self.vehicle_id}
        )
        self.devices = frozenset({self.device, *devices})
        self.made_here = {}
        wanted: dict[str, set[str]] = {}
        patients: set[str] = set()
        for change in changes:
            table = tables.get(change.table)
            spec = sync_spec(table) if table is not None else None
            if table is None or spec is None:
                continue
            if spec.scope is Scope.PATIENT:
                patients.add(change.row_id)
            if change.op in FULL_OPS and _origin(change) == self.device:
                self.made_here[(change.table, change.row_id)] = change.values
            for column, parent in parents(table):
                value = change.values.get(column)
                if isinstance(value, str):
                    if _scope(parent) is Scope.PATIENT:
                        patients.add(value)
                    else:
                        wanted.setdefault(parent.name, set()).add(value)
        self.owners = {}
        for name, ids in wanted.items():
            self.owners.update(_owners(connection, tables[name], ids))
        self._load_patients(connection, tables, patients)

    def _load_patients(
        self, connection: Connection, tables: Mapping[str, Table], ids: set[str]
    ) -> None:
        self.patients, self.subscribed = {}, set()
        patient = next((t for t in tables.values() if _scope(t) is Scope.PATIENT), None)
        self.patient_table = patient.name if patient is not None else ""
        if patient is None or not ids:
            return
        for chunk in _chunks(sorted(ids)):
            found = connection.execute(
                patient.select()
                .with_only_columns(patient.c.id, patient.c.origin_node)
                .where(patient.c.id.in_(chunk))
            )
            self.patients.update({row.id: row.origin_node for row in found})
            self.subscribed |= set(
                connection.scalars(_SUBSCRIBED, {"v": self.vehicle_id, "ids": chunk})
            )

    # ------------------------------------------------------------ deciding

    def refusal(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> Refusal | None:
        """Every refusal for want of a right is final: applied later (once the vehicle
        holds the patient, say) it would still be a change made without the right. A
        change from the future only waits for the hub's clock. A change to a row that
        has gone on to head office alone (a claim sent to PALMED) is refused and the
        hub's row reasserted, so the laptop that made it comes back to the hub's."""
        waiting = self._authorship(change)
        if waiting is not None:
            return Refusal(waiting, final=waiting != _ahead_reason(self.max_ahead_ms))
        sealed = self._sealed(table, spec, current, decoded)
        if sealed is not None:
            return Refusal(sealed, final=True, reassert=change.op == "u")
        reason = (
            self._authority(change, table, spec, current, decoded)
            or self._hub_columns(change, table, spec, current, decoded)
            or self._references(table, decoded)
        )
        return Refusal(reason, final=True) if reason else None

    def _sealed(
        self,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> str | None:
        """A row (or a row of a parent) in a state only head office moves on from."""
        if spec.open_while is not None and current is not None:
            column, states = spec.open_while
            state = getattr(current, column)
            if state not in states:
                return f"this {table.name} is {state}: only head office changes it now"
        if spec.sealed_by is not None:
            parent_id = decoded.get(spec.sealed_by)
            if parent_id is None and current is not None:
                parent_id = getattr(current, spec.sealed_by)
            parent = _parent_of(table, spec.sealed_by)
            state = self._state(parent, parent_id) if parent_id is not None else None
            if state is not None:
                return f"its {parent.name} is {state}: only head office changes it now"
        return None

    def _state(self, parent: Table, row_id: str) -> str | None:
        """The parent's state when it is past what a device may change, else None."""
        spec = sync_spec(parent)
        if spec is None or spec.open_while is None or self.connection is None:
            return None
        column, states = spec.open_while
        found = self.connection.execute(
            parent.select().with_only_columns(parent.c[column]).where(parent.c.id == row_id)
        ).scalar()
        return found if found is not None and found not in states else None

    def _authorship(self, change: Change) -> str | None:
        """Every version a change writes must be the device's own and not from the future.
        An update may carry another node's version for a column it touched and a pull
        overwrote before the push: that column is held (`held_columns`), not applied."""
        if change.op == "s":
            return "a device sends no snapshots"
        versions = [change.version, *change.versions.values()]
        own = [v for v in versions if node_of(v) == self.device]
        if change.op != "u" and (len(own) < len(versions) or _origin(change) != self.device):
            return "a device may only send changes made on it"
        return ahead(own, self.ceiling, self.max_ahead_ms)

    def _authority(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> str | None:
        if spec.policy is Policy.REFERENCE:
            return f"{table.name} is head-office data, changed only at head office"
        if spec.scope is Scope.VEHICLE:
            column = spec.scope_column or "vehicle_id"
            owners = {decoded[column]} if column in decoded else set()
            if current is not None:
                owners.add(getattr(current, column))
            if owners - {self.vehicle_id}:
                return "this row belongs to another vehicle"
        if current is None:
            return None  # a new row, made on this device (`_authorship`)
        if change.op == "d" and current.origin_node not in self.devices:
            return "a device may delete only rows made on its vehicle"
        if spec.scope is Scope.PATIENT and not self.holds_patient(change.row_id):
            return "this patient is not held by this vehicle; head office decides who holds them"
        if spec.scope in (Scope.USER, Scope.ALL) and current.origin_node not in self.devices:
            if spec.scope is Scope.USER:
                return "accounts are changed only where they were made (head office)"
            if change.op in FULL_OPS:  # the same key made on two laptops: one row, kept
                self.kept_as_is.add((change.table, change.row_id))
                return None
            return f"this {table.name} was made elsewhere and is changed only there"
        return None

    def _hub_columns(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> str | None:
        """Columns only head office writes, and the vehicle a row was made on."""
        guarded = [c for c in (*spec.hub_columns, spec.home_column) if c and c in decoded]
        if change.op == "u" and guarded:
            return f"{guarded[0]} is set only at head office"
        if current is not None:
            return None  # an insert sent again: `held_columns` keeps the hub's values
        for column in spec.hub_columns:
            if column in decoded and not _empty(decoded[column], table.c[column]):
                return f"{column} is set only at head office"
        home = spec.home_column
        if home and decoded.get(home) not in (None, self.vehicle_id):
            return f"a new row's {home} must be this vehicle"
        return None

    def _references(self, table: Table, decoded: Mapping[str, Any]) -> str | None:
        """A row may refer only to its own vehicle's rows and to patients it holds."""
        for column, parent in parents(table):
            value = decoded.get(column)
            if value is None:
                continue
            if _scope(parent) is Scope.PATIENT:
                if not self.holds_patient(value):
                    return f"{column} names a patient this vehicle does not hold"
                continue
            owner = self.owners.get((parent.name, value), _MISSING)
            if owner is _MISSING:
                made = self.made_here.get((parent.name, value))
                owner = _scope_value(parent, made) if made is not None else _MISSING
            if owner is not _MISSING and owner != self.vehicle_id:
                return f"{column} names another vehicle's {parent.name}"
        return None

    def holds_patient(self, patient_id: str) -> bool:
        """Subscribed by the hub, or made on one of this vehicle's devices (in this batch,
        or before and not yet taken into the subscriptions)."""
        if patient_id in self.subscribed:
            return True
        origin = self.patients.get(patient_id)
        if origin is not None:
            return origin in self.devices
        return (self.patient_table, patient_id) in self.made_here

    # ------------------------------------------------------------ applying

    def held_columns(self, connection: Connection, change: Change, spec: SyncSpec) -> set[str]:
        """Columns whose version names another node (a device cannot speak for others),
        and the hub's own columns of an insert sent again."""
        if (change.table, change.row_id) in self.kept_as_is:
            return set(change.values)
        held = {
            column
            for column in change.values
            if node_of(change.column_version(column)) != self.device
        }
        return held | {c for c in (*spec.hub_columns, spec.home_column) if c}

    def saw(
        self, connection: Connection, table: str, row_id: str, column: str, version: str
    ) -> bool:
        """Whether the device had pulled the hub's change that set this column's version
        before it made its edit: the hub's log entry for it is within the device's
        cursor. (A device edits a row only once it holds it, so a later snapshot of the
        row that delivered the value counts the same.)"""
        entries = connection.execute(_SET_BY, {"t": table, "r": row_id}).all()
        for entry in entries:
            columns = json.loads(entry.columns) if entry.columns else {}
            if columns.get(column) == version or (
                entry.op in FULL_OPS and entry.version == version
            ):
                return entry.commit_seq is not None and entry.commit_seq <= (self.seen or 0)
        return False

    def keeps_tombstone(self, connection: Connection, change: Change) -> bool:
        """A delete of a row the hub does not hold is recorded only when the device's own
        change of that row waits in quarantine (its insert was held): the tombstone stops
        a retry from bringing it back. Otherwise it changes nothing, so no device can
        tombstone, ahead of time, a row another vehicle has not sent yet."""
        found = connection.execute(
            _HELD, {"p": self.device, "t": change.table[:64], "r": change.row_id[:36]}
        )
        return found.first() is not None


class HubRules:
    """An edge applying what the hub sends."""

    merges_unions = False
    keeps_losers = False

    def __init__(
        self,
        node: str,
        pushed_seq: int,
        hub_time: int | None = None,
        max_ahead_ms: int = MAX_AHEAD_MS,
    ) -> None:
        self.node = node
        self.pushed_seq = pushed_seq
        self.hub_time = hub_time
        self.max_ahead_ms = max_ahead_ms

    def prepare(
        self, connection: Connection, tables: Mapping[str, Table], changes: Sequence[Change]
    ) -> None:
        return None

    def refusal(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> Refusal | None:
        """A change from the hub waits for this edge to catch up; it is never refused."""
        if self.hub_time is None:
            return None
        versions = [change.version, *change.versions.values()]
        reason = ahead(versions, self.hub_time + self.max_ahead_ms, self.max_ahead_ms)
        return Refusal(reason) if reason else None

    def held_columns(self, connection: Connection, change: Change, spec: SyncSpec) -> set[str]:
        """Union columns with local edits the hub has not received yet."""
        union = set(spec.union_columns) & set(change.values)
        if not union:
            return set()
        pending = connection.execute(
            text(
                "SELECT columns FROM sync_change WHERE table_name = :t AND row_id = :r "
                "AND node = :n AND seq > :s"
            ),
            {"t": change.table, "r": change.row_id, "n": self.node, "s": self.pushed_seq},
        )
        edited = {column for row in pending for column in json.loads(row.columns or "{}")}
        return union & edited

    def saw(
        self, connection: Connection, table: str, row_id: str, column: str, version: str
    ) -> bool:
        return True  # an edge does not keep losers: the hub has kept them

    def keeps_tombstone(self, connection: Connection, change: Change) -> bool:
        """The hub's delete of a row this edge never had: recorded, so the row cannot
        arrive later and live on here alone."""
        return True


@functools.cache
def parents(table: Table) -> tuple[tuple[str, Table], ...]:
    """The table's foreign keys to vehicle- and patient-scoped tables: (column, parent)."""
    found = []
    for key in table.foreign_keys:
        parent = key.column.table
        spec = sync_spec(parent) if isinstance(parent, Table) else None
        if spec is not None and spec.scope in (Scope.VEHICLE, Scope.PATIENT):
            found.append((key.parent.name, parent))
    return tuple(sorted(found, key=lambda item: item[0]))


class _Missing:
    pass


_MISSING = _Missing()


def _parent_of(table: Table, column: str) -> Table:
    [key] = table.c[column].foreign_keys
    return key.column.table


def _scope(table: Table) -> Scope | None:
    spec = sync_spec(table)
    return spec.scope if spec is not None else None


def _origin(change: Change) -> str:
    return change.origin or node_of(change.version)


def _scope_value(table: Table, values: Mapping[str, Any]) -> Any:
    spec = sync_spec(table)
    column = (spec.scope_column if spec else None) or "vehicle_id"
    return values.get(column, _MISSING)


def _owners(connection: Connection, table: Table, ids: set[str]) -> dict[tuple[str, str], Any]:
    spec = sync_spec(table)
    column = table.c[(spec.scope_column if spec else None) or "vehicle_id"]
    found: dict[tuple[str, str], Any] = {}
    for chunk in _chunks(sorted(ids)):
        query = table.select().with_only_columns(table.c.id, column).where(table.c.id.in_(chunk))
        found.update({(table.name, row[0]): row[1] for row in connection.execute(query)})
    return found


def _empty(value: Any, column: Any) -> bool:
    """Whether a new row leaves a head-office column as a new row would have it: empty,
    or at the column's own default."""
    if value in (None, "", [], {}):
        return True
    default = column.default
    return default is not None and default.is_scalar and value == default.arg


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]
