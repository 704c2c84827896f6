"""What the alerts API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from edge.alert.service import KINDS, PRIORITIES, STATUSES


class AlertQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(("open", *STATUSES)))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    kind = fields.String(validate=validate.OneOf(KINDS))


class AlertOut(Schema):
    id = fields.String()
    vehicle_id = fields.String(allow_none=True)
    kind = fields.String()
    priority = fields.String()
    title = fields.String()
    detail = fields.String(allow_none=True)
    resource_type = fields.String(allow_none=True)
    resource_id = fields.String(allow_none=True)
    status = fields.String()
    escalation_level = fields.Integer()
    created_at = fields.AwareDateTime()
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
