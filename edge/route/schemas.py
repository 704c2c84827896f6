"""What the routes API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery
from edge.location.schemas import LocationOut

ID = validate.Length(1, 36)
_DAY = dt.timedelta(days=1)


class StopIn(Schema):
    location_id = fields.String(required=True, validate=ID)
    arrival_at = fields.AwareDateTime(required=True)
    departure_at = fields.AwareDateTime(required=True)
    slot_minutes = fields.Integer(load_default=30, validate=validate.Range(5, 240))
    slot_capacity = fields.Integer(load_default=1, validate=validate.Range(1, 100))

    @validates_schema
    def times_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["departure_at"] <= data["arrival_at"]:
            raise ValidationError("Departure must be after arrival", "departure_at")
        if data["departure_at"] - data["arrival_at"] > _DAY:
            raise ValidationError("A stop lasts at most a day", "departure_at")
        if (data["departure_at"] - data["arrival_at"]).total_seconds() < data["slot_minutes"] * 60:
            raise ValidationError("The stop is shorter than one slot", "slot_minutes")


class RouteIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    route_date = fields.Date(required=True)
    stops = fields.List(fields.Nested(StopIn), required=True, validate=validate.Length(1, 30))


class RouteQuery(PageQuery):
    date_from = fields.Date()
    date_to = fields.Date()


class SlotOut(Schema):
    id = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer()
    booked = fields.Integer()
    available = fields.Integer()


class StopOut(Schema):
    id = fields.String()
    sequence = fields.Integer()
    location = fields.Nested(LocationOut)
    arrival_at = fields.AwareDateTime()
    departure_at = fields.AwareDateTime()
    slots = fields.List(fields.Nested(SlotOut))


class RouteOut(Schema):
    id = fields.String()
    vehicle_id = fields.String()
    route_date = fields.Date()
    name = fields.String()
    status = fields.String()
    stop_count = fields.Integer()
    stops = fields.List(fields.Nested(StopOut))
