"""Filters of the audit search and export, and the records they return."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, fields, validate

from common import audit
from common.api import PageQuery

OUTCOMES = validate.OneOf([audit.SUCCESS, audit.FAILURE, audit.DENIED])


class AuditFilters(Schema):
    user = fields.String(validate=validate.Length(1, 64), metadata={"description": "id or name"})
    patient = fields.String(validate=validate.Length(1, 36))
    action = fields.String(validate=validate.Length(1, 48))
    vehicle = fields.String(validate=validate.Length(1, 36))
    outcome = fields.String(validate=OUTCOMES)
    since = fields.AwareDateTime(default_timezone=dt.UTC)
    until = fields.AwareDateTime(default_timezone=dt.UTC)


class AuditQuery(AuditFilters, PageQuery):
    pass


class AuditOut(Schema):
    id = fields.String()
    origin_node = fields.String()
    chain_seq = fields.Integer()
    at = fields.AwareDateTime()
    user_id = fields.String(allow_none=True)
    username = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    action = fields.String()
    outcome = fields.String()
    resource_type = fields.String(allow_none=True)
    resource_id = fields.String(allow_none=True)
    patient_id = fields.String(allow_none=True)
    vehicle_id = fields.String(allow_none=True)
    client_addr = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    detail = fields.Dict(allow_none=True)
    retention_until = fields.Date()
