"""What a route stop takes, by one set of rules for head office's planning API and its
routes CSV, and how a stop is cut into bookable slots."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import Session

from schema.models import AppointmentSlot, Route, RouteStop

_DAY = dt.timedelta(days=1)
MAX_SLOTS_PER_STOP = 96


def stop_time(**kwargs: Any) -> fields.AwareDateTime:
    """A time of day at a stop; one given without an offset is read as UTC."""
    return fields.AwareDateTime(default_timezone=dt.UTC, **kwargs)


class StopTimes(Schema):
    """When the vehicle is at a stop and how its time is cut into appointment slots (a
    slot holds one booking unless the planner says more; a stop shorter than a slot is
    one slot)."""

    arrival_at = stop_time(required=True)
    departure_at = stop_time(required=True)
    slot_minutes = fields.Integer(load_default=30, validate=validate.Range(5, 480))
    slot_capacity = fields.Integer(load_default=1, validate=validate.Range(1, 200))

    @validates_schema
    def times_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        stay = data["departure_at"] - data["arrival_at"]
        if stay <= dt.timedelta(0):
            raise ValidationError("Departure must be after arrival", "departure_at")
        if stay > _DAY:
            raise ValidationError("A stop lasts at most a day", "departure_at")


class StopIn(StopTimes):
    """A stop at a known location, as the planning APIs take it."""

    location_id = fields.String(required=True, validate=validate.Length(1, 36))


def order_problem(stops: Sequence[Mapping[str, Any]]) -> str | None:
    """Why the stops cannot follow one another in this order, or None."""
    for number, (before, after) in enumerate(zip(stops, stops[1:], strict=False), start=2):
        if after["arrival_at"] < before["departure_at"]:
            return f"Stop {number} arrives before the stop before it leaves"
    return None


def add_stops(session: Session, route: Route, stops: Sequence[Mapping[str, Any]]) -> None:
    """The route's stops in the order given, each cut into its bookable slots."""
    for sequence, stop in enumerate(stops, start=1):
        row = RouteStop(
            route_id=route.id,
            vehicle_id=route.vehicle_id,
            location_id=stop["location_id"],
            sequence=sequence,
            arrival_at=stop["arrival_at"],
            departure_at=stop["departure_at"],
        )
        session.add(row)
        session.flush()
        for starts, ends in slot_times(stop):
            session.add(
                AppointmentSlot(
                    route_stop_id=row.id,
                    vehicle_id=route.vehicle_id,
                    starts_at=starts,
                    ends_at=ends,
                    capacity=stop["slot_capacity"],
                )
            )
    session.flush()


def slot_times(stop: Mapping[str, Any]) -> list[tuple[dt.datetime, dt.datetime]]:
    """Whole slots from arrival to departure (one slot if the stop is shorter)."""
    length = dt.timedelta(minutes=stop["slot_minutes"])
    start, end = stop["arrival_at"], stop["departure_at"]
    times = []
    while start + length <= end and len(times) < MAX_SLOTS_PER_STOP:
        times.append((start, start + length))
        start += length
    return times or [(stop["arrival_at"], end)]
