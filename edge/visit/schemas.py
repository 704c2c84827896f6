"""What the visits API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

ID = validate.Length(1, 36)
REASON = validate.Length(1, 1000)


class VisitCreate(Schema):
    patient_id = fields.String(required=True, validate=ID)
    location_id = fields.String(load_default=None, allow_none=True, validate=ID)
    appointment_id = fields.String(load_default=None, allow_none=True, validate=ID)


class VisitUpdate(Schema):
    """The fields a crew member may change; stages move only by the stage actions."""

    summary = fields.String(allow_none=True, validate=validate.Length(max=5000))
    location_id = fields.String(allow_none=True, validate=ID)


class AdvanceIn(Schema):
    skip_reason = fields.String(load_default=None, allow_none=True, validate=REASON)


class ReasonIn(Schema):
    reason = fields.String(required=True, validate=REASON)


class VisitPatientOut(Schema):
    id = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    date_of_birth = fields.Date()
    sex = fields.String()
    allergies = fields.List(fields.String())
    medical_aid_number = fields.String(allow_none=True)


class TransitionOut(Schema):
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    kind = fields.String()
    reason = fields.String(allow_none=True)
    actor_id = fields.String()
    actor_role = fields.String()
    at = fields.AwareDateTime()


class ClaimLineOut(Schema):
    kind = fields.String()
    code = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    unit_price = fields.String()
    amount = fields.String()


class ClaimBriefOut(Schema):
    id = fields.String()
    supersedes_id = fields.String(allow_none=True)  # the claim before a reopen, if any
    status = fields.String()
    problems = fields.List(fields.String())
    rejection_codes = fields.List(fields.String())  # PALMED's, as the hub synced them back
    palmed_claim_id = fields.String(allow_none=True)
    paid_amount = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime()
    member_number = fields.String(allow_none=True)
    dependant_code = fields.String(allow_none=True)
    practice_number = fields.String(allow_none=True)
    service_date = fields.Date()
    icd10_codes = fields.List(fields.String())
    total_amount = fields.String()
    lines = fields.List(fields.Nested(ClaimLineOut))


class VisitOut(Schema):
    id = fields.String()
    patient_id = fields.String()
    vehicle_id = fields.String()
    visit_date = fields.Date()
    stage = fields.String()
    stage_label = fields.String()
    status = fields.String()
    location_id = fields.String(allow_none=True)
    appointment_id = fields.String(allow_none=True)
    eligibility_status = fields.String(allow_none=True)
    eligibility_verified_at = fields.AwareDateTime(allow_none=True)
    counseling_skip_reason = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)
    opened_by = fields.String()
    opened_at = fields.AwareDateTime()
    closed_by = fields.String(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    patient = fields.Nested(VisitPatientOut)
    transitions = fields.List(fields.Nested(TransitionOut))
    claim = fields.Nested(ClaimBriefOut, allow_none=True)


class QueueEntryOut(Schema):
    visit_id = fields.String()
    patient_id = fields.String()
    patient_name = fields.String()
    visit_date = fields.String()
    waiting_since = fields.AwareDateTime()
