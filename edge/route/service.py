"""A vehicle's planned days: routes of ordered stops, each cut into bookable slots.

Routes are planned at head office and arrive by sync (head-office data: a vehicle's own
edits of them would be refused by the hub); the bookings in their slots are made here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.access import Actor
from edge.location.service import view as location_view
from edge.scope import owned, page_of, vehicle_of
from schema.models import Appointment, AppointmentSlot, Location, Route, RouteStop

# An appointment in one of these states holds its place in the slot.
HOLDING = ("booked", "attended", "no_show")


def list_routes(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(Route).where(Route.vehicle_id == vehicle_of(actor))
    if wanted.get("date_from"):
        query = query.where(Route.route_date >= wanted["date_from"])
    if wanted.get("date_to"):
        query = query.where(Route.route_date <= wanted["date_to"])
    rows, total = page_of(session, query.order_by(Route.route_date, Route.name), page, per_page)
    counts = _stop_counts(session, [r.id for r in rows])
    return [_summary(r, counts.get(r.id, 0)) for r in rows], total


def get_route(session: Session, actor: Actor, route_id: str) -> dict[str, Any]:
    return route_view(session, owned(session, Route, route_id, vehicle_of(actor), "Route"))


def route_of_day(session: Session, vehicle_id: str, day: dt.date) -> Route | None:
    """The vehicle's route on `day` (the first by name if several were planned)."""
    query = select(Route).where(Route.vehicle_id == vehicle_id, Route.route_date == day)
    return session.scalars(query.order_by(Route.name)).first()


def route_view(session: Session, route: Route) -> dict[str, Any]:
    """A route with its stops in order, each with its location and slots (and places left)."""
    stops = session.scalars(
        select(RouteStop).where(RouteStop.route_id == route.id).order_by(RouteStop.sequence)
    ).all()
    slots = session.scalars(
        select(AppointmentSlot)
        .where(AppointmentSlot.route_stop_id.in_([s.id for s in stops]))
        .order_by(AppointmentSlot.starts_at)
    ).all()
    taken = booked_counts(session, [s.id for s in slots])
    locations = {
        loc.id: loc
        for loc in session.scalars(
            select(Location).where(Location.id.in_({s.location_id for s in stops}))
        )
    }
    view = _summary(route, len(stops))
    view["stops"] = [
        {
            "id": stop.id,
            "sequence": stop.sequence,
            "location": location_view(locations[stop.location_id]),
            "arrival_at": stop.arrival_at,
            "departure_at": stop.departure_at,
            "slots": [
                slot_view(slot, taken.get(slot.id, 0))
                for slot in slots
                if slot.route_stop_id == stop.id
            ],
        }
        for stop in stops
    ]
    return view


def booked_counts(session: Session, slot_ids: Sequence[str]) -> dict[str, int]:
    """How many places are taken in each slot."""
    if not slot_ids:
        return {}
    query = (
        select(Appointment.slot_id, func.count())
        .where(Appointment.slot_id.in_(slot_ids), Appointment.status.in_(HOLDING))
        .group_by(Appointment.slot_id)
    )
    return {slot_id: count for slot_id, count in session.execute(query)}


def slot_view(slot: AppointmentSlot, booked: int) -> dict[str, Any]:
    return {
        "id": slot.id,
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "capacity": slot.capacity,
        "booked": booked,
        "available": max(0, slot.capacity - booked),
    }


def _stop_counts(session: Session, route_ids: Sequence[str]) -> dict[str, int]:
    query = (
        select(RouteStop.route_id, func.count())
        .where(RouteStop.route_id.in_(route_ids))
        .group_by(RouteStop.route_id)
    )
    return {route_id: count for route_id, count in session.execute(query)}


def _summary(route: Route, stop_count: int) -> dict[str, Any]:
    return {
        "id": route.id,
        "vehicle_id": route.vehicle_id,
        "route_date": route.route_date,
        "name": route.name,
        "status": route.status,
        "stop_count": stop_count,
    }
