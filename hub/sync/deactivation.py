"""Visits on a patient who is deactivated at the hub: another vehicle or head office
deactivated the patient meanwhile, and this vehicle, offline, saw them still. The visit
stays as the vehicle recorded it (its crew saw the person); an alert tells the vehicle,
once per visit, that the patient was deactivated and, when the hub knows, by whom."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, select
from sqlalchemy.orm import Session

from common.node import HUB_NODE_ID
from schema.base import utcnow
from schema.models import Alert, Device, Patient, SyncClock, Vehicle, Visit
from sync.change import Change, column_versions
from sync.clock import node_of

KIND = "patient_deactivated"
DEACTIVATED = "deactivated"
_CHUNK = 500


@dataclass(frozen=True)
class Found:
    """A visit that arrived for a deactivated patient, and the node that deactivated them."""

    visit_id: str
    vehicle_id: str
    visit_date: Any
    patient_id: str
    by_node: str


def notice(connection: Connection, changes: Sequence[Change]) -> None:
    """After a batch is applied: an alert for each visit it brought whose patient is
    deactivated at the hub. One query for the batch (in chunks of 500 visits); more only
    for the few it finds."""
    ids = sorted({c.row_id for c in changes if c.table == Visit.__tablename__ and c.op != "d"})
    chunks = (ids[start : start + _CHUNK] for start in range(0, len(ids), _CHUNK))
    found = [hit for chunk in chunks for hit in _found(connection, chunk)]
    if not found:
        return
    with Session(bind=connection) as session:
        _alert(session, found)


def _found(connection: Connection, ids: list[str]) -> list[Found]:
    clock = SyncClock.__table__
    rows = connection.execute(
        select(
            Visit.id,
            Visit.vehicle_id,
            Visit.visit_date,
            Patient.id.label("patient_id"),
            Patient.version,
            clock.c.clocks,
            clock.c.base,
        )
        .join(Patient, Patient.id == Visit.patient_id)
        .outerjoin(
            clock,
            and_(clock.c.table_name == Patient.__tablename__, clock.c.row_id == Patient.id),
        )
        .where(Visit.id.in_(ids), Patient.status == DEACTIVATED)
    ).all()
    return [
        Found(row.id, row.vehicle_id, row.visit_date, row.patient_id, _status_written_by(row))
        for row in rows
    ]


def _status_written_by(row: Any) -> str:
    """The node whose write set the patient's status: its column version names it."""
    clock = row if row.clocks is not None else None
    return node_of(column_versions(row, clock, ["status"])["status"])


def _alert(session: Session, found: list[Found]) -> None:
    keys = {hit.visit_id: f"{KIND}:{hit.visit_id}" for hit in found}
    told = select(Alert.dedupe_key).where(Alert.dedupe_key.in_(keys.values()))
    known = set(session.scalars(told))
    vehicles = _vehicles_of(session, {hit.by_node for hit in found})
    for hit in found:
        by_vehicle, by_name = vehicles.get(hit.by_node, (None, None))
        if keys[hit.visit_id] in known or by_vehicle == hit.vehicle_id:
            continue  # told already, or this vehicle's own deactivation
        session.add(
            Alert(
                vehicle_id=hit.vehicle_id,
                kind=KIND,
                priority="high",
                title="Visit for a patient who was deactivated",
                detail=(
                    f"The visit {hit.visit_id} of {hit.visit_date.isoformat()} is for patient "
                    f"{hit.patient_id}, who was deactivated {_by(hit.by_node, by_name)}. "
                    "Check the patient's record before going on with the visit."
                ),
                resource_type="visit",
                resource_id=hit.visit_id,
                dedupe_key=keys[hit.visit_id],
                status="active",
                escalation_level=0,
                created_at=utcnow(),
            )
        )
    session.flush()


def _vehicles_of(session: Session, nodes: set[str]) -> dict[str, tuple[str, str]]:
    """The vehicle (id, name) each of these devices belongs to."""
    rows = session.execute(
        select(Device.id, Vehicle.id, Vehicle.name)
        .join(Vehicle, Vehicle.id == Device.vehicle_id)
        .where(Device.id.in_(nodes - {HUB_NODE_ID}))
    )
    return {device: (vehicle, name) for device, vehicle, name in rows}


def _by(node: str, vehicle_name: str | None) -> str:
    if node == HUB_NODE_ID:
        return "at head office"
    return f"on vehicle {vehicle_name}" if vehicle_name else "on another vehicle"
