"""What the inventory API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery
from edge.stock.service import KINDS, OUTBOUND

ID = validate.Length(1, 36)
QUANTITY = validate.Range(1, 1_000_000)
REASON = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ReceiptIn(Schema):
    item_id = fields.String(required=True, validate=ID)
    batch_number = fields.String(required=True, validate=validate.Length(1, 40))
    expiry_date = fields.Date(required=True)
    quantity = fields.Integer(required=True, strict=True, validate=QUANTITY)
    reason = REASON


class UsageIn(Schema):
    item_id = fields.String(validate=ID)
    lot_id = fields.String(validate=ID)
    quantity = fields.Integer(required=True, strict=True, validate=QUANTITY)
    kind = fields.String(load_default="dispense", validate=validate.OneOf(OUTBOUND))
    reason = REASON

    @validates_schema
    def one_source(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("item_id" in data) == ("lot_id" in data):
            raise ValidationError(
                "Give exactly one of item_id (first expiry first) or lot_id", "item_id"
            )


class MovementIn(Schema):
    lot_id = fields.String(required=True, validate=ID)
    kind = fields.String(
        required=True, validate=validate.OneOf([k for k in KINDS if k != "receipt"])
    )
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(-1_000_000, 1_000_000)
    )
    reason = REASON


class CountIn(Schema):
    lot_id = fields.String(required=True, validate=ID)
    counted = fields.Integer(required=True, strict=True, validate=validate.Range(0, 1_000_000))
    reason = REASON


class StocktakeIn(Schema):
    counts = fields.List(fields.Nested(CountIn), required=True, validate=validate.Length(1, 500))


class StockQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 64))
    low_only = fields.Boolean(load_default=False)


class MovementQuery(PageQuery):
    item_id = fields.String(validate=ID)
    lot_id = fields.String(validate=ID)
    kind = fields.String(validate=validate.OneOf(KINDS))


class MovementOut(Schema):
    id = fields.String()
    item_id = fields.String()
    lot_id = fields.String()
    kind = fields.String()
    quantity = fields.Integer()
    reason = fields.String(allow_none=True)
    reference_type = fields.String(allow_none=True)
    reference_id = fields.String(allow_none=True)
    actor_id = fields.String()
    occurred_at = fields.AwareDateTime()
    lot_on_hand = fields.Integer()


class LotOut(Schema):
    id = fields.String()
    batch_number = fields.String()
    expiry_date = fields.Date()
    quantity = fields.Integer()
    days_to_expiry = fields.Integer()


class ItemOut(Schema):
    id = fields.String()
    nappi_code = fields.String(allow_none=True)
    name = fields.String()
    kind = fields.String()
    strength = fields.String(allow_none=True)
    unit = fields.String()
    reorder_level = fields.Integer()
    on_hand = fields.Integer()
    low = fields.Boolean()
    lots = fields.List(fields.Nested(LotOut))


class StocktakeOut(Schema):
    id = fields.String()
    counted = fields.Integer()
    adjustments = fields.List(fields.Nested(MovementOut))


class LowStockOut(Schema):
    item_id = fields.String()
    name = fields.String()
    on_hand = fields.Integer()
    reorder_level = fields.Integer()


class ExpiringOut(Schema):
    lot_id = fields.String()
    item_id = fields.String()
    name = fields.String()
    batch_number = fields.String()
    expiry_date = fields.Date()
    quantity = fields.Integer()
    days_to_expiry = fields.Integer()
    band = fields.Integer()
    priority = fields.String()


class StockAlertsOut(Schema):
    low_stock = fields.List(fields.Nested(LowStockOut))
    expiring = fields.List(fields.Nested(ExpiringOut))
