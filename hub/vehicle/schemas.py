"""What the vehicles API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from hub.reference.schemas import Partial

PRACTICE = validate.Regexp(r"^\d{7}$", error="A practice number is 7 digits")
PLATE = validate.Regexp(r"^[A-Z0-9][A-Z0-9 -]{1,18}[A-Z0-9]$", error="Letters, digits, spaces")
STATUSES = ("active", "inactive")


class VehicleIn(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    registration_plate = fields.String(required=True, validate=PLATE)
    province_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 36))
    practice_number = fields.String(required=True, validate=PRACTICE)


class VehicleChange(Partial, VehicleIn):
    status = fields.String(validate=validate.OneOf(STATUSES))


class VehicleQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(STATUSES))


class VehicleOut(Schema):
    id = fields.String()
    name = fields.String()
    registration_plate = fields.String()
    province_id = fields.String(allow_none=True)
    practice_number = fields.String()
    status = fields.String()
