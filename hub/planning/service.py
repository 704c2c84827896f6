"""Planning a vehicle's days: a route of ordered stops, each cut into appointment slots.

Routes, stops and slots are vehicle-scoped synced rows: written here through the ORM,
they reach that vehicle (and only it) at its next sync. A caller plans and sees only the
routes of vehicles in their reach (`hub.scope`); another vehicle's route is a 404.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict
from common.stops import add_stops, order_problem
from hub import csvfile
from hub.scope import Reach, owned, reach
from schema.base import utcnow
from schema.models import Appointment, AppointmentSlot, Location, Route, RouteStop, Vehicle

CSV_COLUMNS = (
    "vehicle",
    "route_date",
    "route_name",
    "sequence",
    "location",
    "arrival_at",
    "departure_at",
    "slot_minutes",
    "slot_capacity",
)


@dataclass(frozen=True)
class RouteFilter:
    vehicle_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def create_route(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Plan a route with its stops and slots for one vehicle (in reach) and day."""
    vehicle_id = data["vehicle_id"]
    if session.get(Vehicle, vehicle_id) is None or not reach(session, actor).covers(vehicle_id):
        raise BadRequest("Invalid input", details={"vehicle_id": ["No such vehicle"]})
    _check_stops(session, data["stops"])
    if _planned(session, data["vehicle_id"], data["route_date"], data["name"]):
        raise Conflict("This vehicle already has a route of that name on that day")
    route = _build(
        session, actor, data["vehicle_id"], data["route_date"], data["name"], data["stops"]
    )
    audit.record(session, actor, "route_created", resource_type="route", resource_id=route.id)
    session.commit()
    return view(session, route)


def update_route(
    session: Session, actor: Actor, route_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Rename a planned route, move it to another day (its stops and slots move with it)
    or replace its stops. Moving is refused while patients are booked on it (they would
    lose their place), replacing stops once any appointment was made in them. The
    vehicle gets the change at its next sync."""
    route = _planned_route(session, actor, route_id)
    stops = changes.get("stops")
    if stops is not None:
        _check_stops(session, stops)
        if session.scalar(_appointments(route).limit(1)) is not None:
            raise Conflict(
                "Appointments were made on these stops: cancel the route and plan a new one"
            )
    day, name = changes.get("route_date", route.route_date), changes.get("name", route.name)
    if day != route.route_date and _booked(session, route):
        raise Conflict(
            f"{_booked(session, route)} patients are booked on this route: cancel or move "
            "their appointments on the vehicle first, or cancel the route with them"
        )
    if (day, name) != (route.route_date, route.name) and _planned(
        session, route.vehicle_id, day, name
    ):
        raise Conflict("This vehicle already has a route of that name on that day")
    _shift(session, route, day - route.route_date)
    route.route_date, route.name = day, name
    if stops is not None:
        _replace_stops(session, route, stops)
    audit.record(session, actor, "route_updated", resource_type="route", resource_id=route.id)
    session.commit()
    return view(session, route)


def cancel_route(
    session: Session, actor: Actor, route_id: str, reason: str | None, with_appointments: bool
) -> dict[str, Any]:
    """Call off a planned route. With patients booked it is refused unless
    `with_appointments`, which cancels their appointments too (the crew sees why)."""
    route = _planned_route(session, actor, route_id)
    booked = _holding(session, route)
    if booked and not with_appointments:
        raise Conflict(
            f"{len(booked)} patients are booked on this route: cancel it with their "
            "appointments (cancel_appointments) or move them first"
        )
    now, why = utcnow(), f"Route cancelled at head office: {reason or 'no reason given'}"
    for appointment in booked:
        appointment.status, appointment.reason, appointment.updated_at = "cancelled", why, now
    route.status = "cancelled"
    detail = {"reason": reason, "appointments_cancelled": len(booked)}
    what = {"resource_type": "route", "resource_id": route.id, "detail": detail}
    audit.record(session, actor, "route_cancelled", **what)
    session.commit()
    return view(session, route)


def get_route(session: Session, who: Actor | Reach, route_id: str) -> dict[str, Any]:
    return view(session, owned(session, Route, route_id, reach(session, who), "route"))


def list_routes(
    session: Session, who: Actor | Reach, wanted: RouteFilter, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of routes in reach by date and vehicle, with their stops."""
    query = _filtered(reach(session, who), wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    routes = session.scalars(
        query.order_by(Route.route_date, Route.vehicle_id, Route.name)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [view(session, route, slots=False) for route in routes], total


def import_routes(session: Session, actor: Actor, parsed: csvfile.Parsed) -> dict[str, int]:
    """Plan routes from CSV rows (one stop a line); any bad line and nothing is planned."""
    errors, within = parsed.errors, reach(session, actor)
    found = [_resolve(session, within, line, data, errors) for line, data in parsed.rows]
    resolved = [row for row in found if row["vehicle_id"]]
    key = lambda r: (r["vehicle_id"], r["route_date"], r["route_name"])  # noqa: E731
    groups = [(k, list(g)) for k, g in groupby(sorted(resolved, key=key), key=key)]
    for (vehicle_id, day, name), stops in groups:
        _check_group(session, vehicle_id, day, name, stops, errors)
    csvfile.reject(errors)
    for (vehicle_id, day, name), stops in groups:
        ordered = sorted(stops, key=lambda s: s["sequence"])
        _build(session, actor, vehicle_id, day, name, ordered)
    counts = {"routes": len(groups), "stops": len(parsed.rows)}
    audit.record(session, actor, "routes_imported", resource_type="route", detail=counts)
    session.commit()
    return counts


def export_routes(session: Session, who: Actor | Reach, wanted: RouteFilter) -> str:
    """Routes in reach as CSV, one stop a line, in the import's format."""
    query = (
        select(Route, RouteStop, Vehicle.registration_plate, Location.name)
        .join(RouteStop, RouteStop.route_id == Route.id)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .join(Location, Location.id == RouteStop.location_id)
        .where(Route.id.in_(_filtered(reach(session, who), wanted).with_only_columns(Route.id)))
        .order_by(Route.route_date, Vehicle.registration_plate, Route.name, RouteStop.sequence)
    )
    lines = []
    for route, stop, plate, location in session.execute(query):
        slots = session.scalars(
            select(AppointmentSlot)
            .filter_by(route_stop_id=stop.id)
            .order_by(AppointmentSlot.starts_at)
        ).all()
        minutes = (
            int((slots[0].ends_at - slots[0].starts_at).total_seconds() // 60) if slots else 30
        )
        capacity = slots[0].capacity if slots else 4
        lines.append(
            (
                plate,
                route.route_date,
                route.name,
                stop.sequence,
                location,
                stop.arrival_at,
                stop.departure_at,
                minutes,
                capacity,
            )
        )
    return csvfile.write(CSV_COLUMNS, lines)


def view(session: Session, route: Route, *, slots: bool = True) -> dict[str, Any]:
    stops = session.execute(
        select(RouteStop, Location.name)
        .join(Location, Location.id == RouteStop.location_id)
        .where(RouteStop.route_id == route.id)
        .order_by(RouteStop.sequence)
    ).all()
    return {
        "id": route.id,
        "vehicle_id": route.vehicle_id,
        "route_date": route.route_date,
        "name": route.name,
        "status": route.status,
        "booked": _booked(session, route),
        "created_at": route.created_at,
        "stops": [_stop_view(session, stop, name, slots) for stop, name in stops],
    }


def _stop_view(session: Session, stop: RouteStop, location: str, slots: bool) -> dict[str, Any]:
    found = (
        session.scalars(
            select(AppointmentSlot)
            .filter_by(route_stop_id=stop.id)
            .order_by(AppointmentSlot.starts_at)
        ).all()
        if slots
        else []
    )
    return {
        "id": stop.id,
        "sequence": stop.sequence,
        "location_id": stop.location_id,
        "location_name": location,
        "arrival_at": stop.arrival_at,
        "departure_at": stop.departure_at,
        "slots": found,
    }


def _build(
    session: Session,
    actor: Actor,
    vehicle_id: str,
    day: dt.date,
    name: str,
    stops: Sequence[Mapping[str, Any]],
) -> Route:
    route = Route(
        vehicle_id=vehicle_id,
        route_date=day,
        name=name,
        status="planned",
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(route)
    session.flush()
    add_stops(session, route, stops)
    return route


def _check_stops(session: Session, stops: Sequence[Mapping[str, Any]]) -> None:
    missing = [s["location_id"] for s in stops if session.get(Location, s["location_id"]) is None]
    if missing:
        raise BadRequest("Invalid input", details={"stops": [f"No such location {missing[0]}"]})
    problem = order_problem(stops)
    if problem:
        raise BadRequest("Invalid input", details={"stops": [problem]})


def _planned_route(session: Session, actor: Actor, route_id: str) -> Route:
    """The route (of a vehicle in reach), locked, if it is still only planned (not
    cancelled or under way)."""
    route = owned(session, Route, route_id, reach(session, actor), "route", lock=True)
    if route.status != "planned":
        raise Conflict(f"This route is {route.status}: only a planned route can change")
    return route


def _stops_and_slots(session: Session, route: Route) -> tuple[list[RouteStop], list[Any]]:
    stops = list(session.scalars(select(RouteStop).where(RouteStop.route_id == route.id)))
    slots = session.scalars(
        select(AppointmentSlot).where(AppointmentSlot.route_stop_id.in_([s.id for s in stops]))
    )
    return stops, list(slots)


def _appointments(route: Route) -> Select[tuple[Appointment]]:
    """The appointments made in the route's slots, whatever their status."""
    slot_ids = (
        select(AppointmentSlot.id)
        .join(RouteStop, RouteStop.id == AppointmentSlot.route_stop_id)
        .where(RouteStop.route_id == route.id)
    )
    return select(Appointment).where(Appointment.slot_id.in_(slot_ids))


def _holding(session: Session, route: Route) -> list[Appointment]:
    """The route's appointments that still hold a patient's place, locked."""
    query = _appointments(route).where(Appointment.status == "booked")
    return list(session.scalars(query.with_for_update()))


def _booked(session: Session, route: Route) -> int:
    query = _appointments(route).where(Appointment.status == "booked")
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _shift(session: Session, route: Route, by: dt.timedelta) -> None:
    stops, slots = _stops_and_slots(session, route)
    for stop in stops:
        stop.arrival_at, stop.departure_at = stop.arrival_at + by, stop.departure_at + by
    for slot in slots:
        slot.starts_at, slot.ends_at = slot.starts_at + by, slot.ends_at + by


def _replace_stops(session: Session, route: Route, stops: Sequence[Mapping[str, Any]]) -> None:
    """Delete the old stops and slots (tombstones tell the vehicle), then plan the new."""
    old_stops, old_slots = _stops_and_slots(session, route)
    for row in [*old_slots, *old_stops]:
        session.delete(row)
        session.flush()
    add_stops(session, route, stops)


def _planned(session: Session, vehicle_id: str, day: dt.date, name: str) -> bool:
    query = select(Route.id).filter_by(vehicle_id=vehicle_id, route_date=day, name=name)
    return session.scalar(query.limit(1)) is not None


def _filtered(within: Reach, wanted: RouteFilter) -> Select[Any]:
    query = within.narrowed(wanted.vehicle_id).where(select(Route), Route.vehicle_id)
    if wanted.date_from:
        query = query.where(Route.route_date >= wanted.date_from)
    if wanted.date_to:
        query = query.where(Route.route_date <= wanted.date_to)
    return query


def _resolve(
    session: Session, within: Reach, line: int, data: dict[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """A CSV row with its vehicle (plate or name, in reach) and location (name) found."""
    named = or_(Vehicle.registration_plate == data["vehicle"], Vehicle.name == data["vehicle"])
    vehicle = session.scalars(within.where(select(Vehicle.id).where(named), Vehicle.id)).all()
    locations = session.scalars(select(Location.id).where(Location.name == data["location"])).all()
    problems: dict[str, list[str]] = {}
    if len(vehicle) != 1:
        problems["vehicle"] = ["No vehicle with this registration plate or name"]
    if len(locations) != 1:
        problems["location"] = [
            "No location of this name" if not locations else "Several locations have this name"
        ]
    if problems:
        errors.append({"line": line, "errors": problems})
        return {**data, "line": line, "vehicle_id": "", "location_id": ""}
    return {**data, "line": line, "vehicle_id": vehicle[0], "location_id": locations[0]}


def _check_group(
    session: Session,
    vehicle_id: str,
    day: dt.date,
    name: str,
    stops: list[dict[str, Any]],
    errors: list[dict[str, Any]],
) -> None:
    first = stops[0]["line"]
    sequences = [s["sequence"] for s in stops]
    if len(set(sequences)) != len(sequences):
        errors.append(
            {"line": first, "errors": {"sequence": ["A sequence number repeats in this route"]}}
        )
    ordered = sorted(stops, key=lambda s: s["sequence"])
    problem = order_problem(ordered)
    if problem:
        errors.append({"line": first, "errors": {"arrival_at": [problem]}})
    if _planned(session, vehicle_id, day, name):
        errors.append({"line": first, "errors": {"route_name": ["This route is already planned"]}})
