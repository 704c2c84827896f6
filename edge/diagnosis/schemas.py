"""What the diagnoses API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery


class DiagnosisIn(Schema):
    visit_id = fields.String(required=True, validate=validate.Length(1, 36))
    icd10_code = fields.String(required=True, validate=validate.Length(1, 10))
    is_primary = fields.Boolean(load_default=False)


class DiagnosisOut(Schema):
    id = fields.String()
    visit_id = fields.String()
    patient_id = fields.String()
    icd10_code = fields.String()
    display = fields.String()
    description = fields.String()
    is_primary = fields.Boolean()
    status = fields.String()
    recorded_by = fields.String()
    recorded_at = fields.AwareDateTime()


class CodeQuery(PageQuery):
    q = fields.String(required=True, validate=validate.Length(1, 80))


class CodeOut(Schema):
    code = fields.String()
    display = fields.String()
    description = fields.String()
