"""The appointments API: thin over `edge.appointment.service`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.appointment import service
from edge.appointment.schemas import (
    AppointmentOut,
    AppointmentQuery,
    AvailabilityOut,
    AvailabilityQuery,
    BookingIn,
    RescheduleIn,
    StatusIn,
)

bp = Blueprint("appointments", __name__)

_out = AppointmentOut()


@bp.get("/api/appointments")
@endpoint("appointments:read", query=AppointmentQuery, response=AppointmentOut, many=True)
def list_appointments(query: dict[str, Any]) -> Any:
    """This vehicle's appointments by time, filtered by day, route, slot, patient or status."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_appointments(db.session, current_actor(), query, page, per_page)
    return paginated(_out.dump(rows, many=True), page, per_page, total)


@bp.post("/api/appointments")
@endpoint("appointments:write", body=BookingIn, response=AppointmentOut, status=201)
def book_appointment(body: dict[str, Any]) -> Any:
    """Book a patient into a slot; 409 when the slot is full or they are already in it."""
    return created(_out.dump(service.book(db.session, current_actor(), body)), "Appointment booked")


@bp.get("/api/appointments/availability")
@endpoint("appointments:read", query=AvailabilityQuery, response=AvailabilityOut, many=True)
def availability(query: dict[str, Any]) -> Any:
    """The slots on a day (optionally at one location) and the places left in each."""
    return ok(
        AvailabilityOut().dump(service.availability(db.session, current_actor(), query), many=True)
    )


@bp.post("/api/appointments/<appointment_id>/status")
@endpoint("appointments:write", body=StatusIn, response=AppointmentOut)
def set_status(appointment_id: str, body: dict[str, Any]) -> Any:
    """Cancel a booking, or mark it attended or a no-show."""
    actor = current_actor()
    result = service.set_status(db.session, actor, appointment_id, body["status"], body["reason"])
    return ok(_out.dump(result), "Appointment updated")


@bp.post("/api/appointments/<appointment_id>/reschedule")
@endpoint("appointments:write", body=RescheduleIn, response=AppointmentOut, status=201)
def reschedule(appointment_id: str, body: dict[str, Any]) -> Any:
    """Move a booking to another slot (the old booking is kept, marked rescheduled)."""
    actor = current_actor()
    result = service.reschedule(db.session, actor, appointment_id, body["slot_id"], body["reason"])
    return created(_out.dump(result), "Appointment rescheduled")
