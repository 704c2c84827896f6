"""Adjudication as a switch does it: every rule is checked and every failure reported, so
the practice can fix a claim in one go. Reason codes are listed in docs/palmed.md."""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from palmed import catalogue, member
from palmed.catalogue import Catalogue

SUBMISSION_MONTHS = 4


@dataclass(frozen=True)
class Decision:
    status: str
    reasons: list[dict[str, str]]
    lines: list[dict[str, Any]]
    claimed_amount: Decimal
    approved_amount: Decimal
    duplicate_key: str


def adjudicate(
    connection: sqlite3.Connection, claim: dict[str, Any], codes: Catalogue, today: dt.date
) -> Decision:
    """Accept the claim, or reject it with every reason that applies."""
    reasons = [
        *_member_reasons(connection, claim),
        *_diagnosis_reasons(claim["icd10_codes"]),
        *_line_reasons(claim["lines"], codes),
        *_date_reasons(claim["service_date"], today),
        *_correction_reasons(connection, claim),
    ]
    duplicate_key = _duplicate_key(claim)
    original = _original(connection, duplicate_key)
    if original is not None:
        reasons.append(_reason("DUPLICATE_CLAIM", f"Duplicate of claim {original}"))
    lines = [_priced(line, codes, accepted=not reasons) for line in claim["lines"]]
    return Decision(
        status="rejected" if reasons else "accepted",
        reasons=reasons,
        lines=lines,
        claimed_amount=sum((line["amount"] for line in claim["lines"]), Decimal("0.00")),
        approved_amount=sum((Decimal(line["approved_amount"]) for line in lines), Decimal("0.00")),
        duplicate_key=duplicate_key,
    )


def too_old(service_date: dt.date, today: dt.date) -> bool:
    """Schemes refuse claims submitted more than four months after the service date."""
    return today > add_months(service_date, SUBMISSION_MONTHS)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, or the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _member_reasons(connection: sqlite3.Connection, claim: dict[str, Any]) -> list[dict[str, str]]:
    number, dependant = claim["member_number"], claim["dependant_code"]
    found = member.standing(connection, number, dependant, claim["service_date"])
    if found is None:
        return [_reason("MEMBER_NOT_FOUND", f"No member {number} with dependant code {dependant}")]
    if not found["eligible"]:
        status = found["status"] or "not yet a member"
        return [_reason("MEMBER_INACTIVE", f"Not covered on the service date ({status})")]
    return []


def _diagnosis_reasons(codes: list[str]) -> list[dict[str, str]]:
    if not codes:
        return [_reason("ICD10_MISSING", "At least one ICD-10 diagnosis code is required")]
    messages = {
        "ICD10_INVALID": "{} is not a WHO ICD-10 code",
        "ICD10_NOT_SPECIFIC": "{} must be coded to its most specific level",
    }
    return [
        _reason(problem, messages[problem].format(code))
        for code in codes
        if (problem := catalogue.icd10_problem(code)) is not None
    ]


def _line_reasons(lines: list[dict[str, Any]], codes: Catalogue) -> list[dict[str, str]]:
    reasons = []
    for number, line in enumerate(lines, start=1):
        if "nappi_code" in line and line["nappi_code"] not in codes.nappi:
            message = f"Line {number}: NAPPI code {line['nappi_code']} is not a known product"
            reasons.append(_reason("NAPPI_UNKNOWN", message))
        if "tariff_code" in line and line["tariff_code"] not in codes.tariffs:
            message = f"Line {number}: tariff code {line['tariff_code']} is not a known tariff"
            reasons.append(_reason("TARIFF_UNKNOWN", message))
    return reasons


def _date_reasons(service_date: dt.date, today: dt.date) -> list[dict[str, str]]:
    if service_date > today:
        return [_reason("SERVICE_DATE_IN_FUTURE", "The service date is after today")]
    if too_old(service_date, today):
        limit = add_months(service_date, SUBMISSION_MONTHS).isoformat()
        return [_reason("CLAIM_TOO_OLD", f"Claims for this service date closed on {limit}")]
    return []


def _correction_reasons(
    connection: sqlite3.Connection, claim: dict[str, Any]
) -> list[dict[str, str]]:
    """A correction replaces a claim of the same member and practice that no longer
    stands: reversed first, or rejected."""
    replaced_id = claim.get("replaces")
    if replaced_id is None:
        return []
    replaced = connection.execute(
        "SELECT member_number, dependant_code, practice_number, status FROM claim"
        " WHERE claim_id = ?",
        (replaced_id,),
    ).fetchone()
    if replaced is None:
        return [_reason("REPLACED_CLAIM_UNKNOWN", f"No claim {replaced_id} to replace")]
    same = (claim["member_number"], claim["dependant_code"], claim["practice_number"])
    if tuple(replaced)[:3] != same:
        message = f"Claim {replaced_id} is another member's or practice's"
        return [_reason("REPLACED_CLAIM_MISMATCH", message)]
    if replaced["status"] in ("accepted", "paid"):
        message = f"Claim {replaced_id} is {replaced['status']}: reverse it before replacing it"
        return [_reason("REPLACED_CLAIM_STANDS", message)]
    return []


def _priced(line: dict[str, Any], codes: Catalogue, *, accepted: bool) -> dict[str, Any]:
    """The line as stored and shown, with what the scheme pays: the claimed amount, capped
    at the scheme rate times the quantity (nothing on a rejected claim)."""
    kind, code = (
        ("nappi", line["nappi_code"]) if "nappi_code" in line else ("tariff", line["tariff_code"])
    )
    item = (codes.nappi if kind == "nappi" else codes.tariffs).get(code)
    approved = (
        min(line["amount"], item.rate * line["quantity"]) if accepted and item else Decimal(0)
    )
    return {
        f"{kind}_code": code,
        "description": item.description if item else None,
        "quantity": line["quantity"],
        "amount": str(line["amount"]),
        "approved_amount": str(approved.quantize(Decimal("0.01"))),
    }


def _duplicate_key(claim: dict[str, Any]) -> str:
    """Same member, dependant, practice, service date and lines: the same service."""
    lines = sorted(
        (
            line.get("tariff_code", ""),
            line.get("nappi_code", ""),
            line["quantity"],
            str(line["amount"]),
        )
        for line in claim["lines"]
    )
    identity = [
        claim["member_number"],
        claim["dependant_code"],
        claim["practice_number"],
        claim["service_date"].isoformat(),
        lines,
    ]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _original(connection: sqlite3.Connection, duplicate_key: str) -> str | None:
    """An accepted or paid claim for the same service (a rejected one blocks nothing)."""
    row = connection.execute(
        "SELECT claim_id FROM claim WHERE duplicate_key = ? AND status IN ('accepted', 'paid')"
        " ORDER BY received_at LIMIT 1",
        (duplicate_key,),
    ).fetchone()
    return row["claim_id"] if row else None


def _reason(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}
