"""What the fleet API gives."""

from __future__ import annotations

from marshmallow import Schema, fields


class VehicleHealthOut(Schema):
    id = fields.String()
    name = fields.String()
    registration_plate = fields.String()
    status = fields.String()
    devices = fields.Integer()
    last_sync_at = fields.AwareDateTime(allow_none=True)
    lag_seconds = fields.Integer(allow_none=True)
    health = fields.String(metadata={"description": "green, amber or red by sync lag"})
    open_alerts = fields.Integer()


class LevelOut(Schema):
    vehicle_id = fields.String()
    vehicle_name = fields.String()
    quantity = fields.Integer()
    low = fields.Boolean()
    next_expiry = fields.Date(allow_none=True)
    expiring = fields.Boolean()


class StockRowOut(Schema):
    item_id = fields.String()
    name = fields.String()
    nappi_code = fields.String(allow_none=True)
    reorder_level = fields.Integer()
    levels = fields.List(fields.Nested(LevelOut), metadata={"description": "one per vehicle"})
