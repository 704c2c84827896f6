"""Prescribing from the formulary and dispensing first-expiry-first-out from stock."""

from __future__ import annotations

from sqlalchemy import select

from common.database import new_session
from schema.models import StockMovement
from tests.support.clinic import AMOXICILLIN, PARACETAMOL, Clinic, lot_quantity


def prescription(visit: str, code: str = PARACETAMOL, quantity: int = 20, **extra: object) -> dict:
    return {
        "visit_id": visit,
        "nappi_code": code,
        "dose": "1 tablet",
        "frequency": "three times a day",
        "duration_days": 5,
        "quantity": quantity,
        **extra,
    }


def test_dispensing_takes_the_earliest_expiring_lot_first_and_never_an_expired_one(
    clinic: Clinic,
) -> None:
    visit = clinic.visit_at("doctor_consultation")
    saved = clinic.ok("POST", "doctor", "/api/prescriptions", prescription(visit, quantity=15))
    assert saved["status"] == "prescribed" and saved["warnings"] == []
    dispensed = clinic.ok("POST", "nurse", f"/api/prescriptions/{saved['id']}/dispense")
    assert dispensed["status"] == "dispensed"
    assert dispensed["dispensed_by"] == clinic.staff("nurse").id
    stock = clinic.stock
    assert dispensed["lots"] == [
        {"lot_id": stock["soon"], "quantity": 10},
        {"lot_id": stock["later"], "quantity": 5},
    ]
    assert lot_quantity(clinic.engine, stock["soon"]) == 0
    assert lot_quantity(clinic.engine, stock["later"]) == 95
    assert lot_quantity(clinic.engine, stock["expired"]) == 50
    with new_session(clinic.engine) as session:
        kinds = session.scalars(
            select(StockMovement.kind).where(StockMovement.reference_id == saved["id"])
        ).all()
    assert kinds == ["dispense", "dispense"]
    again = clinic.post("nurse", f"/api/prescriptions/{saved['id']}/dispense")
    assert again.status_code == 409


def test_dispensing_more_than_the_unexpired_stock_is_refused_and_writes_nothing(
    clinic: Clinic,
) -> None:
    visit = clinic.visit_at("doctor_consultation")
    saved = clinic.ok("POST", "doctor", "/api/prescriptions", prescription(visit, quantity=150))
    assert saved["warnings"] == ["Only 110 tablet in stock on this vehicle"]
    clinic.hire("nurse")
    before = clinic.counts()
    response = clinic.post("nurse", f"/api/prescriptions/{saved['id']}/dispense")
    assert response.status_code == 409 and "Not enough stock: 110" in response.get_json()["error"]
    assert clinic.counts() == before
    listed = clinic.ok("GET", "doctor", f"/api/prescriptions/{visit}")
    assert listed[0]["status"] == "prescribed"


def test_prescribe_and_dispense_in_one_step(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    body = prescription(visit, quantity=4, dispense=True)
    saved = clinic.ok("POST", "doctor", "/api/prescriptions", body)
    assert saved["status"] == "dispensed"
    assert lot_quantity(clinic.engine, clinic.stock["soon"]) == 6


def test_a_possible_allergy_needs_the_doctor_to_accept_the_warning(clinic: Clinic) -> None:
    patient = clinic.register(allergies=["amoxicillin"])
    visit = clinic.visit_at("doctor_consultation", patient)
    before = clinic.counts()
    refused = clinic.post("doctor", "/api/prescriptions", prescription(visit, AMOXICILLIN, 10))
    assert refused.status_code == 409
    assert refused.get_json()["details"]["warnings"] == [
        "The patient is recorded as allergic to amoxicillin"
    ]
    assert clinic.counts() == before
    body = prescription(visit, AMOXICILLIN, 10, accept_warnings=True)
    accepted = clinic.ok("POST", "doctor", "/api/prescriptions", body)
    assert "allergic to amoxicillin" in accepted["warnings"][0]


def test_bad_prescriptions_are_refused(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    nursing = clinic.visit_at("nursing_assessment")
    clinic.hire("doctor", "nurse")
    before = clinic.counts()
    cases = [
        ("doctor", prescription(visit, "9999999"), 400),
        ("doctor", prescription(visit, "abc"), 400),
        ("doctor", prescription(visit, quantity=0), 400),
        ("doctor", {**prescription(visit), "duration_days": "long"}, 400),
        ("doctor", prescription(nursing), 409),
        ("nurse", prescription(visit), 403),
    ]
    for role, body, status in cases:
        assert clinic.post(role, "/api/prescriptions", body).status_code == status, body
    assert clinic.counts() == before


def test_the_formulary_shows_unexpired_stock(clinic: Clinic) -> None:
    found = clinic.get("doctor", "/api/formulary?q=para").get_json()
    assert [(i["nappi_code"], i["on_hand"]) for i in found["data"]] == [(PARACETAMOL, 110)]
