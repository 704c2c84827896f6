"""What a vehicle's crew may reach: its own rows, and the patients it has dealings with.

Patients are shared between vehicles, but a vehicle sees only those registered on it (or
at head office), or who have a visit or an appointment on it: the same patients the hub
sends it. Anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from common.access import Actor
from common.errors import Forbidden, NotFound
from schema.models import Appointment, Patient, Visit

T = TypeVar("T")

NOT_ENROLLED = "This laptop is not enrolled to a vehicle yet"


def vehicle_of(actor: Actor) -> str:
    """The vehicle the actor works on; clinical work needs one."""
    if actor.vehicle_id is None:
        raise Forbidden(NOT_ENROLLED)
    return actor.vehicle_id


def patient_reachable(vehicle_id: str) -> ColumnElement[bool]:
    """The condition on `Patient` for the patients this vehicle may see."""
    return or_(
        Patient.registered_vehicle_id == vehicle_id,
        Patient.registered_vehicle_id.is_(None),
        exists().where(Visit.patient_id == Patient.id, Visit.vehicle_id == vehicle_id),
        exists().where(Appointment.patient_id == Patient.id, Appointment.vehicle_id == vehicle_id),
    )


def find_patient(session: Session, vehicle_id: str, patient_id: str) -> Patient:
    patient = session.scalar(
        select(Patient).where(Patient.id == patient_id, patient_reachable(vehicle_id))
    )
    if patient is None:
        raise NotFound("Patient not found")
    return patient


def find_visit(session: Session, vehicle_id: str, visit_id: str) -> Visit:
    visit = session.get(Visit, visit_id)
    if visit is None or visit.vehicle_id != vehicle_id:
        raise NotFound("Visit not found")
    return visit


def owned(session: Session, model: type[T], row_id: str, vehicle_id: str, noun: str) -> T:
    """A row of this vehicle; another vehicle's row is as absent as a missing one (404)."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "vehicle_id", None) != vehicle_id:
        raise NotFound(f"{noun} {row_id} not found")
    return row


def page_of(
    session: Session, query: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int]:
    """One page of `query`'s rows and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return [row[0] if len(row) == 1 else row for row in rows], total
