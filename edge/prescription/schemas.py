"""What the prescriptions API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery


class PrescriptionIn(Schema):
    visit_id = fields.String(required=True, validate=validate.Length(1, 36))
    nappi_code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{6,9}$", error="6 to 9 digits")
    )
    dose = fields.String(required=True, validate=validate.Length(1, 64))
    frequency = fields.String(required=True, validate=validate.Length(1, 64))
    duration_days = fields.Integer(required=True, strict=True, validate=validate.Range(1, 365))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10_000))
    instructions = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=1000)
    )
    accept_warnings = fields.Boolean(load_default=False)
    dispense = fields.Boolean(load_default=False)


class PrescriptionOut(Schema):
    id = fields.String()
    visit_id = fields.String()
    patient_id = fields.String()
    item_id = fields.String()
    nappi_code = fields.String()
    name = fields.String()
    strength = fields.String(allow_none=True)
    dose = fields.String()
    frequency = fields.String()
    duration_days = fields.Integer()
    quantity = fields.Integer()
    instructions = fields.String(allow_none=True)
    status = fields.String()
    warnings = fields.List(fields.String())
    prescribed_by = fields.String()
    prescribed_at = fields.AwareDateTime()
    dispensed_by = fields.String(allow_none=True)
    dispensed_at = fields.AwareDateTime(allow_none=True)
    lots = fields.List(fields.Dict(), dump_default=list)


class FormularyQuery(PageQuery):
    q = fields.String(load_default=None, validate=validate.Length(1, 80))


class FormularyOut(Schema):
    id = fields.String()
    nappi_code = fields.String()
    name = fields.String()
    strength = fields.String(allow_none=True)
    unit = fields.String()
    on_hand = fields.Integer()
