"""The claim a visit's closure drafts: member, practice, ICD-10 codes, tariff and NAPPI
lines, amounts, and `needs_attention` with the reasons when something is missing."""

from __future__ import annotations

from sqlalchemy import select

from common.database import new_session
from schema.models import Claim, ClaimLine, Patient
from tests.support.clinic import PARACETAMOL, Clinic


def close_with_medicine(clinic: Clinic, patient: dict | None = None) -> str:
    visit = clinic.visit_at("doctor_consultation", patient)
    clinic.ok("POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "I10"})
    clinic.ok("POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "J06.9"})
    body = {
        "visit_id": visit,
        "nappi_code": PARACETAMOL,
        "dose": "2 tablets",
        "frequency": "qid",
        "duration_days": 3,
        "quantity": 24,
        "dispense": True,
    }
    clinic.ok("POST", "doctor", "/api/prescriptions", body)
    clinic.ok("POST", "doctor", f"/api/visits/{visit}/advance")
    clinic.ok("POST", "social_worker", f"/api/visits/{visit}/advance", {"skip_reason": "none"})
    return visit


def test_a_complete_visit_drafts_a_ready_claim(clinic: Clinic) -> None:
    patient = clinic.register(medical_aid_number="110234561", dependant_code="01")
    visit = close_with_medicine(clinic, patient)
    claim = clinic.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]
    assert claim["status"] == "ready" and claim["problems"] == []
    assert (claim["member_number"], claim["dependant_code"]) == ("110234561", "01")
    assert claim["icd10_codes"] == ["I10", "J069"]  # the primary first
    assert [
        (line["kind"], line["code"], line["quantity"], line["amount"]) for line in claim["lines"]
    ] == [
        ("tariff", "0190", 1, "520.00"),
        ("nappi", PARACETAMOL, 24, "8.40"),
    ]
    assert claim["total_amount"] == "528.40"
    with new_session(clinic.engine) as session:
        stored = session.scalars(select(Claim).where(Claim.visit_id == visit)).one()
        lines = session.scalars(select(ClaimLine).where(ClaimLine.claim_id == stored.id)).all()
    assert stored.practice_number and stored.vehicle_id == clinic.vehicle_id
    assert (
        stored.service_date.isoformat()
        == clinic.ok("GET", "doctor", f"/api/visits/{visit}")["visit_date"]
    )
    assert len(lines) == 2


def test_a_claim_missing_a_member_number_or_eligibility_needs_attention(clinic: Clinic) -> None:
    uninsured = clinic.register(medical_aid_number=None, dependant_code=None)
    visit = clinic.visit_at("closure", uninsured)
    claim = clinic.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]
    assert claim["status"] == "needs_attention"
    assert claim["problems"] == ["The patient has no medical aid number"]

    lapsed = clinic.register()
    with new_session(clinic.engine) as session, session.begin():
        session.get_one(Patient, lapsed["id"]).member_status = "inactive"
    visit = clinic.visit_at("closure", lapsed)
    claim = clinic.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]
    assert claim["problems"] == ["The member is not eligible (status: inactive)"]
