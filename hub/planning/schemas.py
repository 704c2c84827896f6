"""What the route-planning API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery
from common.stops import StopIn, StopTimes

ID = validate.Length(1, 36)


class RouteIn(Schema):
    vehicle_id = fields.String(required=True, validate=ID)
    route_date = fields.Date(required=True)
    name = fields.String(required=True, validate=validate.Length(1, 120))
    stops = fields.List(fields.Nested(StopIn), required=True, validate=validate.Length(1, 30))


class RouteChange(Schema):
    """A planned route's new day, name or stops (any of them, at least one)."""

    route_date = fields.Date()
    name = fields.String(validate=validate.Length(1, 120))
    stops = fields.List(fields.Nested(StopIn), validate=validate.Length(1, 30))

    @validates_schema
    def changes_something(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give route_date, name or stops to change")


class RouteCancel(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500))
    cancel_appointments = fields.Boolean(load_default=False)


class RouteQuery(PageQuery):
    vehicle_id = fields.String(validate=ID)
    date_from = fields.Date()
    date_to = fields.Date()


class SlotOut(Schema):
    id = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer()


class StopOut(Schema):
    id = fields.String()
    sequence = fields.Integer()
    location_id = fields.String()
    location_name = fields.String()
    arrival_at = fields.AwareDateTime()
    departure_at = fields.AwareDateTime()
    slots = fields.List(fields.Nested(SlotOut))


class RouteOut(Schema):
    id = fields.String()
    vehicle_id = fields.String()
    route_date = fields.Date()
    name = fields.String()
    status = fields.String()
    booked = fields.Integer(metadata={"description": "appointments still booked on it"})
    created_at = fields.AwareDateTime()
    stops = fields.List(fields.Nested(StopOut))


class RouteCsvRow(StopTimes):
    """One stop per line of the routes CSV; lines with the same vehicle, date and route
    name make one route."""

    vehicle = fields.String(required=True, validate=validate.Length(1, 120))
    route_date = fields.Date(required=True)
    route_name = fields.String(required=True, validate=validate.Length(1, 120))
    sequence = fields.Integer(required=True, validate=validate.Range(1, 30))
    location = fields.String(required=True, validate=validate.Length(1, 120))
