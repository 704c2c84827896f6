"""Booking patients into slots: atomic, never double-booked, never over capacity.

Write requests on the edge begin with BEGIN IMMEDIATE (`common.web`), so counting a
slot's bookings and adding one happen under SQLite's write lock: two clerks booking the
last place at once get one booking and one 409.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.database import committed
from common.errors import Conflict, NotFound
from edge.route.service import HOLDING, booked_counts, slot_view
from edge.scope import owned, page_of, patient_reachable, vehicle_of
from schema.base import utcnow
from schema.models import Appointment, AppointmentSlot, Location, Patient, Route, RouteStop

FINAL_STATUSES = ("cancelled", "no_show", "attended")


def book(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Book a patient into a slot of this vehicle, if the slot has a place left."""
    vehicle_id = vehicle_of(actor)
    slot = owned(session, AppointmentSlot, data["slot_id"], vehicle_id, "Slot")
    patient = find_patient(session, vehicle_id, data)
    appointment = _take_place(session, actor, slot, patient.id, data.get("reason"))
    audit.record(session, actor, "appointment_booked", **_what(appointment))
    return committed(session, view(session, appointment))


def set_status(
    session: Session, actor: Actor, appointment_id: str, status: str, reason: str | None
) -> dict[str, Any]:
    """Cancel a booking, or mark it attended or a no-show."""
    appointment = _booked(session, actor, appointment_id)
    appointment.status = status
    appointment.reason = reason or appointment.reason
    appointment.updated_at = utcnow()
    audit.record(session, actor, f"appointment_{status}", **_what(appointment))
    return committed(session, view(session, appointment))


def reschedule(
    session: Session, actor: Actor, appointment_id: str, slot_id: str, reason: str | None
) -> dict[str, Any]:
    """Move a booking to another slot: the old one is kept as `rescheduled`, a new one made."""
    old = _booked(session, actor, appointment_id)
    slot = owned(session, AppointmentSlot, slot_id, old.vehicle_id, "Slot")
    if slot.id == old.slot_id:
        raise Conflict("The appointment is already in this slot")
    old.status, old.updated_at = "rescheduled", utcnow()
    session.flush()
    new = _take_place(session, actor, slot, old.patient_id, reason or old.reason)
    detail = {"from_appointment": old.id}
    audit.record(session, actor, "appointment_rescheduled", **_what(new), detail=detail)
    return committed(session, view(session, new))


def find_patient(session: Session, vehicle_id: str, data: Mapping[str, Any]) -> Patient:
    """The patient named by SA ID number (what a clerk has in hand: the person is here),
    or by record id, which must be a patient this vehicle may see (edge.scope)."""
    if "patient_id" in data:
        named = (Patient.id == data["patient_id"]) & patient_reachable(vehicle_id)
    else:
        named = Patient.id_number == data["patient_id_number"]
    patient = session.scalar(select(Patient).where(named).limit(1))
    if patient is None or patient.status != "active":
        raise NotFound("No active patient with that id")
    return patient


def _take_place(
    session: Session, actor: Actor, slot: AppointmentSlot, patient_id: str, reason: str | None
) -> Appointment:
    if slot.ends_at <= utcnow():
        raise Conflict("This slot is already over")
    route = select(Route.status).join(RouteStop, RouteStop.route_id == Route.id)
    if session.scalar(route.where(RouteStop.id == slot.route_stop_id)) == "cancelled":
        raise Conflict("This route was cancelled at head office")
    holding = select(Appointment.id).where(
        Appointment.slot_id == slot.id, Appointment.status.in_(HOLDING)
    )
    if session.scalar(holding.where(Appointment.patient_id == patient_id)) is not None:
        raise Conflict("The patient is already booked in this slot")
    if booked_counts(session, [slot.id]).get(slot.id, 0) >= slot.capacity:
        raise Conflict("This slot is full")
    now = utcnow()
    appointment = Appointment(
        slot_id=slot.id,
        vehicle_id=slot.vehicle_id,
        patient_id=patient_id,
        status="booked",
        reason=reason,
        booked_by=actor.user_id,
        booked_at=now,
        updated_at=now,
    )
    session.add(appointment)
    session.flush()
    return appointment


def _booked(session: Session, actor: Actor, appointment_id: str) -> Appointment:
    appointment = owned(session, Appointment, appointment_id, vehicle_of(actor), "Appointment")
    if appointment.status != "booked":
        raise Conflict(f"The appointment is {appointment.status.replace('_', ' ')}")
    return appointment


def _what(appointment: Appointment) -> dict[str, Any]:
    return {
        "resource_type": "appointment",
        "resource_id": appointment.id,
        "patient_id": appointment.patient_id,
    }


def list_appointments(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of this vehicle's appointments by time, with who is booked where (audited)."""
    query = _joined().where(Appointment.vehicle_id == vehicle_of(actor))
    for name, column in _FILTERS.items():
        if wanted.get(name):
            query = query.where(column == wanted[name])
    rows, total = page_of(session, query.order_by(AppointmentSlot.starts_at), page, per_page)
    views = [_view(*row) for row in rows]
    audit.record_read(
        session,
        actor,
        "appointment",
        None,
        detail={
            "patient_ids": sorted({v["patient"]["id"] for v in views}),
            "filters": _plain(wanted),
        },
        action="list",
    )
    return views, total


def availability(session: Session, actor: Actor, wanted: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Slots of this vehicle on a day (optionally at one location) and the places left."""
    query = (
        select(AppointmentSlot, RouteStop, Route)
        .join(RouteStop, RouteStop.id == AppointmentSlot.route_stop_id)
        .join(Route, Route.id == RouteStop.route_id)
        .where(AppointmentSlot.vehicle_id == vehicle_of(actor), Route.route_date == wanted["date"])
        .order_by(AppointmentSlot.starts_at)
    )
    if wanted.get("location_id"):
        query = query.where(RouteStop.location_id == wanted["location_id"])
    rows = session.execute(query).all()
    taken = booked_counts(session, [slot.id for slot, _, _ in rows])
    result = []
    for slot, stop, route in rows:
        entry = slot_view(slot, taken.get(slot.id, 0))
        entry.update(route_id=route.id, route_stop_id=stop.id, location_id=stop.location_id)
        if entry["available"] or not wanted.get("open_only"):
            result.append(entry)
    return result


def view(session: Session, appointment: Appointment) -> dict[str, Any]:
    row = session.execute(_joined().where(Appointment.id == appointment.id)).one()
    return _view(*row)


def _joined() -> Any:
    return (
        select(Appointment, AppointmentSlot, RouteStop, Route, Location, Patient)
        .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
        .join(RouteStop, RouteStop.id == AppointmentSlot.route_stop_id)
        .join(Route, Route.id == RouteStop.route_id)
        .join(Location, Location.id == RouteStop.location_id)
        .join(Patient, Patient.id == Appointment.patient_id)
    )


_FILTERS = {
    "date": Route.route_date,
    "route_id": Route.id,
    "slot_id": Appointment.slot_id,
    "status": Appointment.status,
    "patient_id": Appointment.patient_id,
}


def _view(
    appointment: Appointment,
    slot: AppointmentSlot,
    stop: RouteStop,
    route: Route,
    location: Location,
    patient: Patient,
) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "status": appointment.status,
        "reason": appointment.reason,
        "slot_id": slot.id,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "route_id": route.id,
        "route_date": route.route_date,
        "stop_sequence": stop.sequence,
        "location": {"id": location.id, "name": location.name},
        "patient": {
            "id": patient.id,
            "name": f"{patient.first_name} {patient.last_name}",
        },
        "booked_by": appointment.booked_by,
        "booked_at": appointment.booked_at,
        "updated_at": appointment.updated_at,
    }


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in values.items() if v}
