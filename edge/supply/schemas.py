"""What the supply API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from edge.supply.service import PRIORITIES, STATUSES

ID = validate.Length(1, 36)


class RequestLineIn(Schema):
    item_id = fields.String(required=True, validate=ID)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))


class SupplyRequestIn(Schema):
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    lines = fields.List(
        fields.Nested(RequestLineIn), required=True, validate=validate.Length(1, 100)
    )


class SupplyQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("pending", "shipped", "received", "cancelled")))


class RequestLineOut(Schema):
    item_id = fields.String()
    item_name = fields.String(allow_none=True)
    quantity = fields.Integer()


class SupplyRequestOut(Schema):
    id = fields.String()
    vehicle_id = fields.String()
    priority = fields.String()
    reason = fields.String(allow_none=True)
    status = fields.String()
    requested_by = fields.String()
    created_at = fields.AwareDateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    lines = fields.List(fields.Nested(RequestLineOut))


class DeliveryLineOut(RequestLineOut):
    batch_number = fields.String()
    expiry_date = fields.Date()


class DeliveryOut(Schema):
    id = fields.String()
    supply_request_id = fields.String(allow_none=True)
    vehicle_id = fields.String()
    supplier_id = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    tracking_number = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.AwareDateTime()
    shipped_at = fields.AwareDateTime(allow_none=True)
    delivered_at = fields.AwareDateTime(allow_none=True)
    received_by = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(DeliveryLineOut))
