"""Claims as finance sees and corrects them, and the answer of a PALMED run."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from hub.claims import check, state

MONEY = {"as_string": True, "places": 2}


class ClaimQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(state.ALL))
    vehicle_id = fields.String(validate=validate.Length(1, 36))
    visit_id = fields.String(validate=validate.Length(1, 36))


class LineIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(check.LINE_KINDS))
    code = fields.String(required=True, validate=validate.Regexp(check.LINE_CODE))
    description = fields.String(load_default=None, validate=validate.Length(1, 255))
    quantity = fields.Integer(required=True, validate=validate.Range(1, 10_000))
    amount = fields.Decimal(required=True, places=2, validate=validate.Range(0, check.MAX_AMOUNT))


class Correction(Schema):
    """What finance may correct before resubmitting; anything left out stays as it is."""

    member_number = fields.String(validate=validate.Regexp(check.MEMBER_NUMBER))
    dependant_code = fields.String(validate=validate.Regexp(check.DEPENDANT_CODE))
    practice_number = fields.String(validate=validate.Regexp(check.PRACTICE_NUMBER))
    icd10_codes = fields.List(
        fields.String(validate=validate.Length(1, 8)),
        validate=validate.Length(1, check.MAX_ICD10_CODES),
    )
    lines = fields.List(fields.Nested(LineIn), validate=validate.Length(1, check.MAX_LINES))


class LineOut(Schema):
    id = fields.String()
    kind = fields.String()
    code = fields.String()
    description = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Decimal(**MONEY)
    amount = fields.Decimal(**MONEY)


class AttemptOut(Schema):
    at = fields.AwareDateTime()
    kind = fields.String()  # submission or reversal
    idempotency_key = fields.String()
    outcome = fields.String()
    http_status = fields.Integer(allow_none=True)


class ReversalOut(Schema):
    """The reversal at PALMED of a claim a correction replaced."""

    state = fields.String()  # pending, reversed or refused
    corrected_by_id = fields.String()
    idempotency_key = fields.String()
    palmed_reversal_id = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)


class ClaimOut(Schema):
    id = fields.String()
    visit_id = fields.String()
    supersedes_id = fields.String(allow_none=True)  # the claim this correction replaces
    superseded_by_id = fields.String(allow_none=True)  # the correction that replaced it
    patient_id = fields.String()
    vehicle_id = fields.String()
    member_number = fields.String(allow_none=True)
    dependant_code = fields.String(allow_none=True)
    practice_number = fields.String(allow_none=True)
    service_date = fields.Date()
    icd10_codes = fields.List(fields.String())
    total_amount = fields.Decimal(**MONEY)
    status = fields.String()
    problems = fields.List(fields.String())
    palmed_claim_id = fields.String(allow_none=True)
    rejection_codes = fields.List(fields.String())
    paid_amount = fields.Decimal(allow_none=True, **MONEY)
    withdrawn_by = fields.String(allow_none=True)
    withdrawn_at = fields.AwareDateTime(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class ClaimDetailOut(ClaimOut):
    lines = fields.List(fields.Nested(LineOut))
    attempts = fields.List(fields.Nested(AttemptOut))
    reversal = fields.Nested(ReversalOut, allow_none=True)
    resubmit_until = fields.Date(allow_none=True)


class RunOut(Schema):
    queued = fields.Integer()
    needs_attention = fields.Integer()
    reversed = fields.Dict(keys=fields.String(), values=fields.Integer())
    submitted = fields.Dict(keys=fields.String(), values=fields.Integer())
    paid = fields.Integer()
    members = fields.Dict()
