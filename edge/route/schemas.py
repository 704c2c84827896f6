"""What the routes API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from common.stops import StopIn
from edge.location.schemas import LocationOut

ID = validate.Length(1, 36)


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
