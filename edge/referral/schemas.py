"""What the referrals API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery

KINDS = ("internal", "external")
URGENCIES = ("routine", "urgent", "emergency")
STATUSES = ("open", "sent", "completed", "cancelled")


class ReferralIn(Schema):
    visit_id = fields.String(required=True, validate=validate.Length(1, 36))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    facility = fields.String(required=True, validate=validate.Length(1, 160))
    reason = fields.String(required=True, validate=validate.Length(1, 2000))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))


class StatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES[1:]))


class ReferralQuery(PageQuery):
    visit_id = fields.String(validate=validate.Length(1, 36))
    status = fields.String(validate=validate.OneOf(STATUSES))
    urgency = fields.String(validate=validate.OneOf(URGENCIES))


class ReferralOut(Schema):
    id = fields.String()
    visit_id = fields.String()
    patient_id = fields.String()
    kind = fields.String()
    facility = fields.String()
    reason = fields.String()
    urgency = fields.String()
    status = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
