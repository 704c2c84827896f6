"""What the routes API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields

from common.api import PageQuery
from edge.location.schemas import LocationOut


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
