"""The rules' edges, as pure functions: the four-month window and ICD-10 specificity."""

from __future__ import annotations

import datetime as dt

import pytest

from palmed.adjudication import add_months, too_old
from palmed.catalogue import icd10_display, icd10_problem


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2026, 1, 15), 4, dt.date(2026, 5, 15)),
        (dt.date(2025, 10, 31), 4, dt.date(2026, 2, 28)),  # clamped to the month's end
        (dt.date(2023, 10, 31), 4, dt.date(2024, 2, 29)),
        (dt.date(2026, 2, 10), -4, dt.date(2025, 10, 10)),
    ],
)
def test_add_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


def test_a_claim_may_be_submitted_up_to_four_months_after_the_service() -> None:
    service = dt.date(2026, 3, 10)
    assert not too_old(service, dt.date(2026, 7, 10))
    assert too_old(service, dt.date(2026, 7, 11))


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("J06.9", None),
        ("J069", None),
        ("I10", None),  # a category with no subcategories is as specific as it gets
        ("E11", "ICD10_NOT_SPECIFIC"),
        ("J99.9", "ICD10_INVALID"),
        ("J00-J06", "ICD10_INVALID"),  # a block, not a code
        ("X", "ICD10_INVALID"),
    ],
)
def test_icd10_problems(code: str, problem: str | None) -> None:
    assert icd10_problem(code) == problem


def test_icd10_codes_are_shown_with_the_dot() -> None:
    assert [icd10_display(code) for code in ("J069", "J06.9", "XYZ")] == ["J06.9", "J06.9", "XYZ"]
