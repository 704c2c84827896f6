"""What the patients API takes and gives."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from common.api import PageQuery
from edge.patient import identity

NAME = validate.Length(1, 80)
MEMBER_NUMBER = validate.Regexp(r"^[0-9A-Za-z]{1,20}$", error="1 to 20 letters or digits")
DEPENDANT_CODE = validate.Regexp(r"^\d{2,3}$", error="2 or 3 digits, e.g. 00")


def clinical_list(**options: Any) -> fields.List:
    """Allergies or chronic conditions: short entries, a bounded number of them."""
    entry = fields.String(validate=validate.Length(1, 120))
    return fields.List(entry, validate=validate.Length(max=50), **options)


SEXES = ("M", "F")
OLDEST = dt.date(1900, 1, 1)


class PatientIn(Schema):
    """A patient as registered; an SA ID number gives the date of birth and sex when they
    are left out, and must agree with them when they are not."""

    first_name = fields.String(required=True, validate=NAME)
    last_name = fields.String(required=True, validate=NAME)
    date_of_birth = fields.Date(load_default=None, allow_none=True)
    sex = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SEXES))
    id_number = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 20))
    passport_number = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(3, 20)
    )
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    province_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 36))
    language = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 32))
    medical_aid_number = fields.String(load_default=None, allow_none=True, validate=MEMBER_NUMBER)
    dependant_code = fields.String(load_default=None, allow_none=True, validate=DEPENDANT_CODE)
    allergies = clinical_list(load_default=list)
    chronic_conditions = clinical_list(load_default=list)
    medical_history = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=5000)
    )
    emergency_contact_name = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(1, 120)
    )
    emergency_contact_phone = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(1, 32)
    )

    @validates_schema(skip_on_field_errors=False)
    def identity_holds(self, data: dict[str, Any], **_kwargs: Any) -> None:
        problems = identity_problems(data)
        if problems:
            raise ValidationError(problems)

    @post_load
    def normalise(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        return complete_identity(data)


class PatientCreate(PatientIn):
    """Registration: a possible duplicate is refused unless the clerk confirms it."""

    allow_duplicate = fields.Boolean(load_default=False)


class PatientUpdate(Schema):
    """Changes to a patient; checked again as a whole against the stored record."""

    first_name = fields.String(validate=NAME)
    last_name = fields.String(validate=NAME)
    date_of_birth = fields.Date(allow_none=True)
    sex = fields.String(allow_none=True, validate=validate.OneOf(SEXES))
    id_number = fields.String(allow_none=True, validate=validate.Length(1, 20))
    passport_number = fields.String(allow_none=True, validate=validate.Length(3, 20))
    phone = fields.String(allow_none=True, validate=validate.Length(1, 32))
    address = fields.String(allow_none=True, validate=validate.Length(max=500))
    province_id = fields.String(allow_none=True, validate=validate.Length(1, 36))
    language = fields.String(allow_none=True, validate=validate.Length(1, 32))
    medical_aid_number = fields.String(allow_none=True, validate=MEMBER_NUMBER)
    dependant_code = fields.String(allow_none=True, validate=DEPENDANT_CODE)
    allergies = clinical_list()
    chronic_conditions = clinical_list()
    medical_history = fields.String(allow_none=True, validate=validate.Length(max=5000))
    emergency_contact_name = fields.String(allow_none=True, validate=validate.Length(1, 120))
    emergency_contact_phone = fields.String(allow_none=True, validate=validate.Length(1, 32))

    @validates_schema
    def something_to_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change")


def identity_problems(data: dict[str, Any]) -> dict[str, str]:
    """Field-by-field problems with the identity of a whole patient record."""
    problems: dict[str, str] = {}
    number = data.get("id_number")
    if number:
        problem = identity.id_number_problem(number)
        if problem:
            problems["id_number"] = problem
        else:
            problems.update(_id_disagreements(number, data))
    else:
        if data.get("date_of_birth") is None:
            problems["date_of_birth"] = "Give the date of birth (or an SA ID number)"
        if data.get("sex") is None:
            problems["sex"] = "Give the sex (or an SA ID number)"
    born = data.get("date_of_birth")
    if born is not None and not OLDEST <= born <= dt.date.today():
        problems["date_of_birth"] = "The date of birth must be in the past"
    for name in ("phone", "emergency_contact_phone"):
        if data.get(name) and identity.normalise_phone(data[name]) is None:
            problems[name] = "Not a valid phone number"
    if data.get("dependant_code") and not data.get("medical_aid_number"):
        problems["medical_aid_number"] = "Give the medical aid number with the dependant code"
    return problems


def _id_disagreements(number: str, data: dict[str, Any]) -> dict[str, str]:
    problems = {}
    born, sex = data.get("date_of_birth"), data.get("sex")
    if born is not None and _same_birthday(identity.id_birth_date(number), born) is False:
        problems["date_of_birth"] = "The date of birth does not match the ID number"
    if sex is not None and sex != identity.id_sex(number):
        problems["sex"] = "The sex does not match the ID number"
    return problems


def _same_birthday(from_id: dt.date, given: dt.date) -> bool:
    """The ID holds two digits of the year: compare day, month and year modulo 100."""
    return (from_id.month, from_id.day, from_id.year % 100) == (
        given.month,
        given.day,
        given.year % 100,
    )


def complete_identity(data: dict[str, Any]) -> dict[str, Any]:
    """Fill what the ID number implies and put numbers in their one stored form."""
    number = data.get("id_number")
    if number:
        data["id_number"] = identity.compact_id(number)
        if data.get("date_of_birth") is None:
            data["date_of_birth"] = identity.id_birth_date(number)
        if data.get("sex") is None:
            data["sex"] = identity.id_sex(number)
    for name in ("phone", "emergency_contact_phone"):
        if data.get(name):
            data[name] = identity.normalise_phone(data[name])
    if data.get("medical_aid_number"):
        data["medical_aid_number"] = data["medical_aid_number"].upper()
        data["dependant_code"] = data.get("dependant_code") or "00"
    for name in ("first_name", "last_name"):
        if name in data:
            data[name] = data[name].strip()
    return data


class PatientQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 80))
    status = fields.String(
        load_default="active", validate=validate.OneOf(["active", "deactivated", "all"])
    )


class BulkIn(Schema):
    patients = fields.List(fields.Dict(), required=True, validate=validate.Length(1, 1000))
    import_valid = fields.Boolean(load_default=False)


class ImportQuery(Schema):
    import_valid = fields.Boolean(load_default=False)


class DeactivateIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500))


class EligibilityOut(Schema):
    status = fields.String()
    eligible = fields.Boolean(allow_none=True)  # None: not verified yet
    verified_at = fields.AwareDateTime(allow_none=True)
    age_days = fields.Integer(allow_none=True)
    age_text = fields.String()


class PatientOut(Schema):
    id = fields.String()
    first_name = fields.String()
    last_name = fields.String()
    date_of_birth = fields.Date()
    sex = fields.String()
    id_number = fields.String(allow_none=True)
    passport_number = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    province_id = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    medical_aid_number = fields.String(allow_none=True)
    dependant_code = fields.String(allow_none=True)
    member_status = fields.String()
    member_verified_at = fields.AwareDateTime(allow_none=True)
    eligibility = fields.Nested(EligibilityOut)
    allergies = fields.List(fields.String())
    chronic_conditions = fields.List(fields.String())
    medical_history = fields.String(allow_none=True)
    emergency_contact_name = fields.String(allow_none=True)
    emergency_contact_phone = fields.String(allow_none=True)
    status = fields.String()
    registered_vehicle_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
