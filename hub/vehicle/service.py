"""Vehicles: the clinics head office runs. A vehicle row is reference data bound for its
own laptop (it syncs to that vehicle only); its devices are enrolled with tokens
(`hub.sync.device`). A vehicle-scoped caller sees and changes only their own vehicles;
registering a new one is head office's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict
from hub.scope import Reach, owned, reach, require_fleet
from schema.models import Province, Vehicle


def list_vehicles(
    session: Session, who: Actor | Reach, status: str | None, page: int, per_page: int
) -> tuple[list[Vehicle], int]:
    """The vehicles in reach, by name."""
    query = reach(session, who).where(select(Vehicle), Vehicle.id)
    if status:
        query = query.where(Vehicle.status == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Vehicle.name, Vehicle.id).limit(per_page).offset((page - 1) * per_page)
    )
    return list(rows), total


def names(session: Session, who: Actor | Reach) -> dict[str, str]:
    """The names of the vehicles in reach by id, in name order (for pages' columns and
    vehicle pickers)."""
    query = reach(session, who).where(select(Vehicle.id, Vehicle.name), Vehicle.id)
    return {row.id: row.name for row in session.execute(query.order_by(Vehicle.name, Vehicle.id))}


def register(session: Session, actor: Actor, data: Mapping[str, Any]) -> Vehicle:
    """A new vehicle, ready for an enrollment token."""
    require_fleet(reach(session, actor), "Registering a vehicle")
    _check(session, data, None)
    vehicle = Vehicle(status="active", **data)
    session.add(vehicle)
    session.flush()
    return _saved(session, actor, vehicle, "vehicle_registered")


def update(session: Session, actor: Actor, vehicle_id: str, changes: Mapping[str, Any]) -> Vehicle:
    """Rename, re-plate, move to a province, or take a vehicle out of service."""
    within = reach(session, actor)
    vehicle = owned(session, Vehicle, vehicle_id, within, "vehicle", lock=True, vehicle_of="id")
    _check(session, changes, vehicle.id)
    for name, value in changes.items():
        setattr(vehicle, name, value)
    return _saved(session, actor, vehicle, "vehicle_updated")


def _check(session: Session, data: Mapping[str, Any], vehicle_id: str | None) -> None:
    """Refuse an unknown province (400) and a name or plate another vehicle has (409)."""
    if data.get("province_id") and session.get(Province, data["province_id"]) is None:
        raise BadRequest("Invalid input", details={"province_id": ["No such province"]})
    same = [
        column == data[column.key]
        for column in (Vehicle.name, Vehicle.registration_plate)
        if column.key in data
    ]
    if not same:
        return
    query = select(Vehicle.id).where(or_(*same))
    if vehicle_id:
        query = query.where(Vehicle.id != vehicle_id)
    if session.scalar(query.limit(1)) is not None:
        raise Conflict("Another vehicle has this name or registration plate")


def _saved(session: Session, actor: Actor, vehicle: Vehicle, action: str) -> Vehicle:
    audit.record(session, actor, action, resource_type="vehicle", resource_id=vehicle.id)
    session.commit()
    return vehicle
