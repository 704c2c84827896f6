"""The claim a closed visit produces for PALMED, drafted on the vehicle.

Member and dependant from the patient, the practice number of the vehicle, the visit's
ICD-10 codes (primary first), a consultation line from the tariff table and a NAPPI line
per dispensed medicine. A claim missing something PALMED needs is still made, with status
`needs_attention` and the reasons, so nothing is silently dropped; a complete one is
`ready` for the hub to push.

A claim is never deleted: the hub may have sent it to PALMED already, and the vehicle
cannot know. Reopening the visit withdraws it (`withdraw`), and the next closure drafts a
new claim that names the one it supersedes; the hub reconciles the two (reversing the
earlier one at PALMED if it had sent it). A visit's newest claim is the one no other
claim supersedes (`latest`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from common.access import Actor
from schema.base import utcnow
from schema.models import (
    Claim,
    ClaimLine,
    Diagnosis,
    Item,
    Patient,
    Prescription,
    Tariff,
    Vehicle,
    Visit,
)

READY = "ready"
NEEDS_ATTENTION = "needs_attention"
WITHDRAWN = "withdrawn"
CONSULTATION = "consultation"
ELIGIBLE_STATUSES = frozenset({"active", "unverified"})  # unverified: PALMED decides


def build(session: Session, actor: Actor, visit: Visit) -> Claim:
    """Draft the claim of a closed visit (flushed with its lines, not committed); after a
    reopen it supersedes the visit's claim before it."""
    previous = latest(session, visit.id)
    patient = session.get_one(Patient, visit.patient_id)
    vehicle = session.get_one(Vehicle, visit.vehicle_id)
    codes = icd10_codes(session, visit.id)
    lines = [*consultation_lines(session), *medicine_lines(session, visit.id)]
    problems = claim_problems(patient, vehicle, codes, lines)
    now = utcnow()
    claim = Claim(
        visit_id=visit.id,
        supersedes_id=previous.id if previous is not None else None,
        patient_id=patient.id,
        vehicle_id=visit.vehicle_id,
        member_number=patient.medical_aid_number,
        dependant_code=patient.dependant_code,
        practice_number=vehicle.practice_number,
        service_date=visit.visit_date,
        icd10_codes=codes,
        total_amount=sum((line["amount"] for line in lines), Decimal("0.00")),
        status=NEEDS_ATTENTION if problems else READY,
        problems=problems,
        rejection_codes=[],
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(claim)
    session.flush()
    for line in lines:
        values = {k: v for k, v in line.items() if k != "priced"}
        session.add(ClaimLine(claim_id=claim.id, vehicle_id=visit.vehicle_id, **values))
    session.flush()
    return claim


def icd10_codes(session: Session, visit_id: str) -> list[str]:
    query = (
        select(Diagnosis.icd10_code)
        .where(Diagnosis.visit_id == visit_id, Diagnosis.status == "active")
        .order_by(Diagnosis.is_primary.desc(), Diagnosis.recorded_at)
    )
    return list(dict.fromkeys(session.scalars(query)))


def consultation_lines(session: Session) -> list[dict[str, Any]]:
    """One consultation at the tariff table's first active consultation code."""
    tariff = session.scalar(
        select(Tariff)
        .where(Tariff.kind == CONSULTATION, Tariff.active.is_(True))
        .order_by(Tariff.code)
        .limit(1)
    )
    if tariff is None:
        return []
    return [_line("tariff", tariff.code, tariff.description, 1, tariff.amount)]


def medicine_lines(session: Session, visit_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Prescription, Item)
        .join(Item, Item.id == Prescription.item_id)
        .where(Prescription.visit_id == visit_id, Prescription.status == "dispensed")
        .order_by(Prescription.prescribed_at)
    ).all()
    return [
        _line(
            "nappi",
            prescription.nappi_code,
            " ".join(filter(None, [item.name, item.strength])),
            prescription.quantity,
            item.tariff_price,
        )
        for prescription, item in rows
    ]


def _line(
    kind: str, code: str, description: str, quantity: int, unit_price: Decimal | None
) -> dict[str, Any]:
    price = unit_price if unit_price is not None else Decimal("0.00")
    return {
        "kind": kind,
        "code": code,
        "description": description[:255],
        "quantity": quantity,
        "unit_price": price,
        "amount": (price * quantity).quantize(Decimal("0.01")),
        "priced": unit_price is not None,
    }


def claim_problems(
    patient: Patient, vehicle: Vehicle, codes: list[str], lines: list[dict[str, Any]]
) -> list[str]:
    """Why PALMED would refuse this claim as it stands."""
    problems = []
    if not codes:
        problems.append("No ICD-10 diagnosis code")
    if not patient.medical_aid_number:
        problems.append("The patient has no medical aid number")
    elif patient.member_status not in ELIGIBLE_STATUSES:
        problems.append(f"The member is not eligible (status: {patient.member_status})")
    if not vehicle.practice_number:
        problems.append("The vehicle has no practice number")
    if not any(line["kind"] == "tariff" for line in lines):
        problems.append("No active consultation tariff is configured")
    problems += [
        f"No price for {line['code']} in the formulary" for line in lines if not line["priced"]
    ]
    return problems


def latest(session: Session, visit_id: str) -> Claim | None:
    """The visit's newest claim: the one no later claim supersedes (None before closure)."""
    newer = aliased(Claim)
    return session.scalar(
        select(Claim)
        .where(Claim.visit_id == visit_id, ~exists().where(newer.supersedes_id == Claim.id))
        .order_by(Claim.created_at.desc(), Claim.id.desc())
        .limit(1)
    )


def current(session: Session, visit_id: str) -> Claim | None:
    """The claim that stands for the visit: its newest, unless that one was withdrawn."""
    claim = latest(session, visit_id)
    return claim if claim is not None and claim.status != WITHDRAWN else None


def withdraw(session: Session, actor: Actor, visit: Visit, reason: str) -> None:
    """Take back the claim of a visit being reopened, whatever its status here: it is
    marked withdrawn with who, when and why, and keeps its lines. If the hub sent it
    meanwhile, the hub refuses the withdrawal and the claim comes back as the hub has
    it; the claim drafted at the next closure then corrects it."""
    claim = current(session, visit.id)
    if claim is None:
        return
    now = utcnow()
    claim.status = WITHDRAWN
    claim.withdrawn_by, claim.withdrawn_at, claim.withdrawal_reason = actor.user_id, now, reason
    claim.updated_at = now
    session.flush()


def brief(session: Session, visit_id: str) -> dict[str, Any] | None:
    """The visit's current claim with its lines, for the closure summary; None before
    closure and while a reopened visit's claim is withdrawn."""
    claim = current(session, visit_id)
    if claim is None:
        return None
    lines = session.scalars(
        select(ClaimLine)
        .where(ClaimLine.claim_id == claim.id)
        .order_by(ClaimLine.kind.desc(), ClaimLine.code)
    )
    return {
        "id": claim.id,
        "supersedes_id": claim.supersedes_id,
        "status": claim.status,
        "problems": claim.problems,
        "rejection_codes": claim.rejection_codes,
        "palmed_claim_id": claim.palmed_claim_id,
        "paid_amount": None if claim.paid_amount is None else str(claim.paid_amount),
        "updated_at": claim.updated_at,
        "member_number": claim.member_number,
        "dependant_code": claim.dependant_code,
        "practice_number": claim.practice_number,
        "service_date": claim.service_date,
        "icd10_codes": claim.icd10_codes,
        "total_amount": str(claim.total_amount),
        "lines": [
            {
                "kind": line.kind,
                "code": line.code,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
            }
            for line in lines
        ],
    }
