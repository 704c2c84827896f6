"""What the sandbox accepts: every body, query and CSV row is checked here, so bad input
is a 400 that names the field and nothing reaches the store."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

STATUSES = ("active", "suspended", "terminated")
RELATIONSHIPS = ("principal", "spouse", "child", "adult_dependant")

MEMBER_NUMBER = validate.Regexp(r"^[0-9A-Za-z]{1,20}$", error="1 to 20 letters or digits")
DEPENDANT_CODE = validate.Regexp(r"^\d{2,3}$", error="2 or 3 digits, e.g. 00")
PRACTICE_NUMBER = validate.Regexp(r"^\d{7}$", error="a 7-digit BHF practice number")
LINE_CODE = validate.Regexp(r"^[0-9A-Za-z]{1,16}$", error="1 to 16 letters or digits")
ICD10_SHAPE = validate.Regexp(r"^[A-Za-z0-9.]{1,8}$", error="an ICD-10 code such as J06.9")
CLAIM_ID = validate.Regexp(r"^[A-Za-z0-9_-]{1,64}$", error="a PALMED claim id")


def _whole_cents(value: Decimal) -> None:
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError("at most two decimal places")


def _money() -> fields.Decimal:
    return fields.Decimal(
        required=True,
        as_string=True,
        validate=[validate.Range(min=0, max=1_000_000), _whole_cents],
    )


class MemberKey(Schema):
    member_number = fields.String(required=True, validate=MEMBER_NUMBER)
    dependant_code = fields.String(required=True, validate=DEPENDANT_CODE)


def member_key(member_number: str, dependant_code: str) -> tuple[str, str]:
    """The member named in a URL, checked like any other input."""
    key = MemberKey().load({"member_number": member_number, "dependant_code": dependant_code})
    return key["member_number"], key["dependant_code"]


def idempotency_key(header: str | None) -> str:
    key: str = IdempotencyHeader().load({} if header is None else {"Idempotency-Key": header})[
        "key"
    ]
    return key


class LookupQuery(Schema):
    on = fields.Date(load_default=None)


class ChangesQuery(Schema):
    since = fields.String(load_default="0", validate=validate.Regexp(r"^\d{1,18}$"))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class RosterRow(MemberKey):
    """One line of a roster CSV; `status_date` is when the status took effect."""

    first_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    last_name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    date_of_birth = fields.Date(required=True)
    relationship = fields.String(required=True, validate=validate.OneOf(RELATIONSHIPS))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    status_date = fields.Date(load_default=None)
    effective_from = fields.Date(required=True)
    effective_to = fields.Date(load_default=None)

    @validates_schema
    def _dates_in_order(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("effective_from"), data.get("effective_to")
        if start and end and end < start:
            raise ValidationError("must not be before effective_from", "effective_to")
        if start and (data.get("status_date") or start) < start:
            raise ValidationError("must not be before effective_from", "status_date")
        if data.get("dependant_code") == "00" and data.get("relationship") != "principal":
            raise ValidationError("dependant code 00 is the principal member", "relationship")


class StatusChange(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    effective_date = fields.Date(load_default=None)
    reason = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class ClaimLine(Schema):
    """A line bills a tariff (a consultation or procedure) or a NAPPI product: one of them."""

    tariff_code = fields.String(validate=LINE_CODE)
    nappi_code = fields.String(validate=LINE_CODE)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10_000))
    amount = _money()

    @validates_schema
    def _one_code(self, data: dict[str, Any], **_: Any) -> None:
        if ("tariff_code" in data) == ("nappi_code" in data):
            raise ValidationError("give exactly one of tariff_code or nappi_code", "_schema")

    @post_load
    def _in_cents(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["amount"] = data["amount"].quantize(Decimal("0.01"))
        return data


class IdempotencyHeader(Schema):
    """The `Idempotency-Key` header: one key per claim, kept by the caller for every retry."""

    key = fields.String(
        required=True,
        data_key="Idempotency-Key",
        validate=validate.Regexp(
            r"^[A-Za-z0-9._:-]{8,64}$", error="8 to 64 of A-Z a-z 0-9 . _ : -"
        ),
    )


class Claim(MemberKey):
    practice_number = fields.String(required=True, validate=PRACTICE_NUMBER)
    service_date = fields.Date(required=True)
    icd10_codes = fields.List(
        fields.String(validate=ICD10_SHAPE), load_default=list, validate=validate.Length(max=12)
    )
    lines = fields.List(
        fields.Nested(ClaimLine), required=True, validate=validate.Length(min=1, max=100)
    )
    reference = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    # a correction names the claim it replaces (reversed first, or rejected); absent for
    # any other claim, so a claim's fingerprint is what it was before corrections existed
    replaces = fields.String(validate=CLAIM_ID)

    @post_load
    def _upper_codes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["icd10_codes"] = [code.upper() for code in data["icd10_codes"]]
        return data


class Reversal(Schema):
    """Why a claim is taken back, e.g. a corrected claim replaces it."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class FaultRule(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("error", "delay", "drop")))
    when = fields.String(load_default="before", validate=validate.OneOf(("before", "after")))
    method = fields.String(load_default=None, validate=validate.OneOf(("GET", "POST")))
    path = fields.String(load_default=None, validate=validate.Regexp(r"^/v1/[\w/.:-]*$"))
    every = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 10_000))
    rate = fields.Float(load_default=None, validate=validate.Range(0, 1))
    times = fields.Integer(load_default=None, strict=True, validate=validate.Range(1, 1_000_000))
    status = fields.Integer(load_default=None, strict=True, validate=validate.Range(500, 599))
    seconds = fields.Float(load_default=None, validate=validate.Range(0, 600))

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("every") is not None and data.get("rate") is not None:
            raise ValidationError("give every or rate, not both", "_schema")
        if (data["kind"] == "delay") != (data.get("seconds") is not None):
            raise ValidationError("seconds is required for delay and only for delay", "seconds")
        if data["kind"] != "error" and data.get("status") is not None:
            raise ValidationError("status is only for error faults", "status")


class Faults(Schema):
    seed = fields.Integer(load_default=None, strict=True)
    rules = fields.List(
        fields.Nested(FaultRule), load_default=list, validate=validate.Length(max=20)
    )


class PayRun(Schema):
    paid_date = fields.Date(load_default=None)


class ReversalsQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ClaimsQuery(ReversalsQuery):
    status = fields.String(
        load_default=None, validate=validate.OneOf(("accepted", "rejected", "paid", "reversed"))
    )
