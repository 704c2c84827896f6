"""What the alerts API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery

PRIORITIES = ("critical", "high", "medium", "low")


class AlertQuery(PageQuery):
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "all"]))
    vehicle_id = fields.String(validate=validate.Length(1, 36))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))


class AlertOut(Schema):
    id = fields.String()
    vehicle_id = fields.String(allow_none=True)
    kind = fields.String()
    priority = fields.String()
    title = fields.String()
    detail = fields.String(allow_none=True)
    status = fields.String()
    escalation_level = fields.Integer()
    created_at = fields.AwareDateTime()
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
