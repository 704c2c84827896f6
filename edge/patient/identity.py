"""South African identity numbers and phone numbers, checked by the libraries made for them."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.za import idnr

PHONE_REGION = "ZA"


def id_number_problem(number: str) -> str | None:
    """Why `number` is not a valid SA ID number (checksum, date, citizenship), or None."""
    try:
        idnr.validate(number)
    except StdnumError as error:
        return f"Not a valid South African ID number: {error}"
    return None


def id_birth_date(number: str) -> dt.date:
    """The date of birth an SA ID number encodes (the century guessed as the library does)."""
    return idnr.get_birth_date(number)


def id_sex(number: str) -> str:
    """'M' or 'F' as the SA ID number encodes it."""
    return idnr.get_gender(number).upper()


def compact_id(number: str) -> str:
    return idnr.compact(number)


def normalise_phone(raw: str) -> str | None:
    """The number in E.164 form (+27...), or None when it cannot be a real phone number."""
    try:
        number = phonenumbers.parse(raw, PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
