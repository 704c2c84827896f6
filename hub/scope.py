"""What a caller may see at the hub: the vehicles they are assigned to, or the whole fleet.

A head-office role works across the fleet (`common.permission.fleet_wide`); a crew role
and the read-only viewer see only the vehicles their `user_vehicle` rows assign them to.
Every service that reads or acts on vehicle-owned rows takes the caller (the `Actor`, or
a `Reach` already worked out; `FLEET` for background jobs), asks `reach(session, who)`
and filters by it: a row of a vehicle out of reach is as absent as a missing one (404),
and a filter naming such a vehicle finds nothing. The caller is a required argument
everywhere, never defaulted to the fleet, so a call that forgets it fails rather than
shows everything. A role that handles only some kinds of alert
(`common.permission.alert_kinds`) sees only those.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from common.access import Actor
from common.errors import Forbidden, NotFound
from common.permission import alert_kinds, fleet_wide
from schema.models import Alert, Appointment, Device, Patient, UserVehicle, Visit

Row = TypeVar("Row")
Query = TypeVar("Query", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class Reach:
    """The vehicles (None: every one) and alert kinds (None: every kind) a caller sees."""

    vehicles: frozenset[str] | None
    alert_kinds: frozenset[str] | None = None

    @property
    def fleet(self) -> bool:
        return self.vehicles is None

    def covers(self, vehicle_id: str | None) -> bool:
        """Whether a row of `vehicle_id` is in reach (a row of no vehicle: only fleet-wide)."""
        return self.vehicles is None or vehicle_id in self.vehicles

    def where(self, query: Query, column: Any) -> Query:
        """`query` limited to rows whose `column` names a vehicle in reach."""
        if self.vehicles is None:
            return query
        return query.where(column.in_(sorted(self.vehicles)))

    def narrowed(self, vehicle_id: str | None) -> Reach:
        """The reach of a listing filtered to `vehicle_id`: empty when it is out of reach."""
        if vehicle_id is None:
            return self
        return replace(self, vehicles=frozenset({vehicle_id} if self.covers(vehicle_id) else ()))

    def alerts(self, query: Query) -> Query:
        """`query` over alerts limited to the vehicles and kinds in reach."""
        query = self.where(query, Alert.vehicle_id)
        if self.alert_kinds is not None:
            query = query.where(Alert.kind.in_(sorted(self.alert_kinds)))
        return query

    def sees_alert(self, alert: Alert) -> bool:
        kinds = self.alert_kinds
        return self.covers(alert.vehicle_id) and (kinds is None or alert.kind in kinds)

    def patients(self, query: Query, column: Any) -> Query:
        """`query` limited to rows whose `column` names a patient a vehicle in reach
        knows: as on the edge (`edge.scope.patient_reachable`), one registered on it or
        at head office, or with a visit or an appointment on it."""
        if self.vehicles is None:
            return query
        return query.where(column.in_(select(Patient.id).where(self._knows_patient())))

    def devices(self, query: Query, column: Any) -> Query:
        """`query` limited to rows whose `column` names a device of a vehicle in reach."""
        if self.vehicles is None:
            return query
        return query.where(column.in_(self.where(select(Device.id), Device.vehicle_id)))

    def _knows_patient(self) -> ColumnElement[bool]:
        vehicles = sorted(self.vehicles or ())
        return or_(
            Patient.registered_vehicle_id.in_(vehicles),
            Patient.registered_vehicle_id.is_(None),
            exists().where(Visit.patient_id == Patient.id, Visit.vehicle_id.in_(vehicles)),
            exists().where(
                Appointment.patient_id == Patient.id, Appointment.vehicle_id.in_(vehicles)
            ),
        )


FLEET = Reach(None)  # background jobs and the command line: every vehicle, every kind


def reach(session: Session, who: Actor | Reach) -> Reach:
    """What `who` sees (a `Reach` is its own answer): read from the database on each
    call, so an assignment made or removed applies at the caller's next request."""
    if isinstance(who, Reach):
        return who
    actor = who
    kinds = alert_kinds(actor.role)
    if fleet_wide(actor.role):
        return Reach(None, kinds)
    assigned = session.scalars(
        select(UserVehicle.vehicle_id).where(UserVehicle.user_id == actor.user_id)
    )
    return Reach(frozenset(assigned), kinds)


def owned(
    session: Session,
    model: type[Row],
    row_id: str,
    within: Reach,
    what: str,
    *,
    lock: bool = False,
    vehicle_of: str = "vehicle_id",
) -> Row:
    """The row if it exists and its vehicle (the attribute `vehicle_of`) is in reach,
    else 404 `No such <what>`; with `lock`, locked for the decision about to be taken."""
    options: dict[str, Any] = {"with_for_update": True, "populate_existing": True} if lock else {}
    row = session.get(model, row_id, **options)
    if row is None or not within.covers(getattr(row, vehicle_of)):
        raise NotFound(f"No such {what}")
    return row


def require_fleet(within: Reach, action: str) -> None:
    """Refuse a fleet-level action (one that is not about a vehicle in reach) to a
    vehicle-scoped caller."""
    if not within.fleet:
        raise Forbidden(f"{action} is for head office's fleet-wide roles")
