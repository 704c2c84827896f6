"""What the supply API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery

ID = validate.Length(1, 36)
REQUEST_STATUSES = ("pending", "approved", "rejected", "fulfilled")
DELIVERY_STATUSES = ("pending", "shipped", "delivered")


class RequestQuery(PageQuery):
    status = fields.String(validate=validate.OneOf([*REQUEST_STATUSES, "open"]))
    vehicle_id = fields.String(validate=ID)


class Decision(Schema):
    note = fields.String(load_default=None, validate=validate.Length(1, 500))


class Rejection(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class DeliveryLineIn(Schema):
    item_id = fields.String(required=True, validate=ID)
    batch_number = fields.String(required=True, validate=validate.Length(1, 40))
    expiry_date = fields.Date(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(1, 1_000_000))


class DeliveryIn(Schema):
    carrier = fields.String(load_default=None, validate=validate.Length(1, 80))
    tracking_number = fields.String(load_default=None, validate=validate.Length(1, 80))
    lines = fields.List(
        fields.Nested(DeliveryLineIn), required=True, validate=validate.Length(1, 200)
    )

    @validates_schema
    def one_line_per_lot(self, data: dict[str, Any], **_kwargs: Any) -> None:
        lots = [(line["item_id"], line["batch_number"]) for line in data["lines"]]
        if len(set(lots)) != len(lots):
            raise ValidationError("Each item's batch may appear once", "lines")


class DeliveryStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["shipped", "delivered"]))
    carrier = fields.String(validate=validate.Length(1, 80))
    tracking_number = fields.String(validate=validate.Length(1, 80))


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    vehicle_id = fields.String(validate=ID)


class RequestLineOut(Schema):
    item_id = fields.String()
    item_name = fields.String()
    quantity = fields.Integer()


class DeliveryLineOut(Schema):
    item_id = fields.String()
    item_name = fields.String()
    batch_number = fields.String()
    expiry_date = fields.Date()
    quantity = fields.Integer()


class DeliveryOut(Schema):
    id = fields.String()
    supply_request_id = fields.String(allow_none=True)
    vehicle_id = fields.String()
    vehicle_name = fields.String()
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.AwareDateTime()
    shipped_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(DeliveryLineOut))


class RequestOut(Schema):
    id = fields.String()
    vehicle_id = fields.String()
    vehicle_name = fields.String()
    priority = fields.String()
    reason = fields.String(allow_none=True)
    status = fields.String()
    requested_by = fields.String()
    created_at = fields.AwareDateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(RequestLineOut))
    deliveries = fields.List(fields.Nested(DeliveryOut))


class StockQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 64))
    low_only = fields.Boolean(load_default=False)
