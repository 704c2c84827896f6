"""What the assets and suppliers API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from edge.asset.service import MAINTENANCE_KINDS, STATUSES

ID = validate.Length(1, 36)


class AssetIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 160))
    serial_number = fields.String(required=True, validate=validate.Length(1, 64))
    category = fields.String(required=True, validate=validate.Length(1, 40))
    status = fields.String(load_default="in_service", validate=validate.OneOf(STATUSES))
    supplier_id = fields.String(load_default=None, allow_none=True, validate=ID)
    acquired_on = fields.Date(load_default=None, allow_none=True)
    maintenance_interval_days = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(1, 3650)
    )
    next_maintenance_due = fields.Date(load_default=None, allow_none=True)


class AssetStatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))


class MaintenanceIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(MAINTENANCE_KINDS))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    performed_at = fields.AwareDateTime(load_default=None, allow_none=True)


class AssetQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))
    category = fields.String(validate=validate.Length(1, 40))
    due_only = fields.Boolean(load_default=False)


class MaintenanceOut(Schema):
    id = fields.String()
    kind = fields.String()
    notes = fields.String(allow_none=True)
    performed_by = fields.String()
    performed_at = fields.AwareDateTime()


class AssetOut(Schema):
    id = fields.String()
    vehicle_id = fields.String()
    supplier_id = fields.String(allow_none=True)
    name = fields.String()
    serial_number = fields.String()
    category = fields.String()
    status = fields.String()
    acquired_on = fields.Date(allow_none=True)
    maintenance_interval_days = fields.Integer(allow_none=True)
    next_maintenance_due = fields.Date(allow_none=True)
    maintenance_due = fields.Boolean()
    created_at = fields.AwareDateTime()
    maintenance_log = fields.List(fields.Nested(MaintenanceOut))


class SupplierIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 160))
    contact_name = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=120)
    )
    phone = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\+?[0-9 ]{6,20}$")
    )
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=255))


class SupplierOut(Schema):
    id = fields.String()
    name = fields.String()
    contact_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
