"""SA ID numbers and phone numbers, through the libraries that check them."""

from __future__ import annotations

import datetime as dt

import pytest

from edge.patient import identity
from edge.patient.schemas import identity_problems
from tests.support.clinic import sa_id


def test_a_valid_id_gives_birthday_and_sex() -> None:
    number = sa_id(dt.date(1972, 11, 30), "M")
    assert identity.id_number_problem(number) is None
    assert identity.id_birth_date(number) == dt.date(1972, 11, 30)
    assert identity.id_sex(number) == "M"


@pytest.mark.parametrize(
    "number", ["8001015009088", "800101500908", "8013015009087", "abcdefghijklm"]
)
def test_bad_id_numbers(number: str) -> None:
    assert identity.id_number_problem(number) is not None


def test_a_two_digit_year_is_compared_as_such() -> None:
    number = sa_id(dt.date(2005, 6, 1), "F")
    assert identity_problems({"id_number": number, "date_of_birth": dt.date(2005, 6, 1)}) == {}
    assert "date_of_birth" in identity_problems(
        {"id_number": number, "date_of_birth": dt.date(2005, 6, 2)}
    )


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("082 123 4567", "+27821234567"),
        ("+27 82 123 4567", "+27821234567"),
        ("0027821234567", "+27821234567"),
        ("012 345 6789", "+27123456789"),
        ("12345", None),
        ("not a number", None),
    ],
)
def test_phone_numbers_are_normalised(raw: str, e164: str | None) -> None:
    assert identity.normalise_phone(raw) == e164


def test_a_record_without_id_needs_birthday_and_sex() -> None:
    assert set(identity_problems({})) == {"date_of_birth", "sex"}
    future = {"date_of_birth": dt.date.today() + dt.timedelta(days=1), "sex": "F"}
    assert set(identity_problems(future)) == {"date_of_birth"}
