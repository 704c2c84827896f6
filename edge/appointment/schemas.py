"""What the appointments API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery
from edge.appointment.service import FINAL_STATUSES

ID = validate.Length(1, 36)
REASON = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class BookingIn(Schema):
    slot_id = fields.String(required=True, validate=ID)
    patient_id = fields.String(validate=ID)
    patient_id_number = fields.String(validate=validate.Regexp(r"^\d{13}$"))
    reason = REASON

    @validates_schema
    def one_patient(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("patient_id" in data) == ("patient_id_number" in data):
            raise ValidationError(
                "Give exactly one of patient_id or patient_id_number", "patient_id"
            )


class StatusIn(Schema):
    status = fields.String(required=True, validate=validate.OneOf(FINAL_STATUSES))
    reason = REASON


class RescheduleIn(Schema):
    slot_id = fields.String(required=True, validate=ID)
    reason = REASON


class AppointmentQuery(PageQuery):
    date = fields.Date()
    route_id = fields.String(validate=ID)
    slot_id = fields.String(validate=ID)
    patient_id = fields.String(validate=ID)
    status = fields.String(validate=validate.OneOf(("booked", "rescheduled", *FINAL_STATUSES)))


class AvailabilityQuery(Schema):
    date = fields.Date(required=True)
    location_id = fields.String(validate=ID)
    open_only = fields.Boolean(load_default=False)


class Named(Schema):
    id = fields.String()
    name = fields.String()


class AppointmentOut(Schema):
    id = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    slot_id = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    route_id = fields.String()
    route_date = fields.Date()
    stop_sequence = fields.Integer()
    location = fields.Nested(Named)
    patient = fields.Nested(Named)
    booked_by = fields.String()
    booked_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AvailabilityOut(Schema):
    id = fields.String()
    route_id = fields.String()
    route_stop_id = fields.String()
    location_id = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    capacity = fields.Integer()
    booked = fields.Integer()
    available = fields.Integer()
