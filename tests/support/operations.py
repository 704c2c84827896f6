"""Reference rows and a planned day for tests of vehicle operations on the edge."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from common.database import new_session
from common.stops import StopIn, add_stops
from schema.base import utcnow
from schema.models import Item, Location, Province, Route
from tests.support import rows


def make_location(engine: Engine, name: str = "Soshanguve Clinic Yard") -> str:
    """A province and a location in it; returns the location's id."""
    with new_session(engine) as session, session.begin():
        province = session.query(Province).filter_by(code="GP").one_or_none()
        if province is None:
            province = rows.province(session, code="GP")
        location = Location(province_id=province.id, name=name, address="1 Main Rd")
        session.add(location)
    return location.id


def make_item(
    engine: Engine, name: str = "Paracetamol 500mg", reorder_level: int = 0, **extra: Any
) -> str:
    with new_session(engine) as session, session.begin():
        item = Item(
            name=name,
            kind=extra.pop("kind", "medicine"),
            unit=extra.pop("unit", "tablet"),
            reorder_level=reorder_level,
            active=True,
            **extra,
        )
        session.add(item)
    return item.id


def make_patient(engine: Engine, **extra: Any) -> str:
    with new_session(engine) as session, session.begin():
        return rows.patient(session, **extra).id


def tomorrow_at(hour: int, minute: int = 0) -> dt.datetime:
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


def day_plan(
    location_id: str, *, capacity: int = 2, slots: int = 2, name: str = "Tuesday"
) -> dict[str, Any]:
    """A route body for tomorrow: one stop from 08:00 cut into 30-minute slots."""
    arrival = tomorrow_at(8)
    return {
        "name": name,
        "route_date": arrival.date().isoformat(),
        "stops": [
            {
                "location_id": location_id,
                "arrival_at": arrival.isoformat(),
                "departure_at": (arrival + dt.timedelta(minutes=30 * slots)).isoformat(),
                "slot_minutes": 30,
                "slot_capacity": capacity,
            }
        ],
    }


def plan_route(engine: Engine, vehicle_id: str, plan: dict[str, Any]) -> str:
    """A route planned at head office as it arrives on the vehicle by sync (routes are
    head-office data: the crew cannot plan them); `plan` is a `day_plan` body. Returns
    the route's id."""
    stops = StopIn(many=True).load(plan["stops"])
    with new_session(engine) as session, session.begin():
        route = Route(
            vehicle_id=vehicle_id,
            route_date=dt.date.fromisoformat(plan["route_date"]),
            name=plan["name"],
            status="planned",
            created_by="head-office",
            created_at=utcnow(),
        )
        session.add(route)
        session.flush()
        add_stops(session, route, stops)
    return route.id
