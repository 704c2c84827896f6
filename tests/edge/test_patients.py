"""The patients API: registration with SA ID and phone checks, duplicates, search,
editing, deactivation, vehicle scope and the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from common.database import new_session
from schema.base import utcnow
from schema.models import AuditRecord, Patient, Visit
from tests.support import rows
from tests.support.clinic import Clinic, patient_fields, sa_id
from tests.support.tables import row_counts


def test_registration_derives_birthday_and_sex_from_the_id_and_normalises_numbers(
    clinic: Clinic,
) -> None:
    number = sa_id(dt.date(1990, 7, 21), "M")
    patient = clinic.register(id_number=number, phone="082 123 4567", medical_aid_number="ab123")
    assert patient["date_of_birth"] == "1990-07-21" and patient["sex"] == "M"
    assert patient["phone"] == "+27821234567"
    assert patient["medical_aid_number"] == "AB123" and patient["dependant_code"] == "01"
    assert patient["registered_vehicle_id"] == clinic.vehicle_id
    assert patient["eligibility"] == {
        "status": "unverified",
        "eligible": None,
        "verified_at": None,
        "age_days": None,
        "age_text": "never verified",
    }
    with clinic.engine.connect() as connection:
        actions = connection.scalars(
            select(AuditRecord.action).where(AuditRecord.patient_id == patient["id"])
        ).all()
    assert actions == ["patient_created"]


def test_an_inactive_member_in_the_vehicles_copy_is_not_eligible_offline(clinic: Clinic) -> None:
    """The hub syncs PALMED's statuses down; registration reads them with no link at all."""
    patient = clinic.register(medical_aid_number="110743906", dependant_code="00")
    with new_session(clinic.engine) as session, session.begin():
        row = session.get_one(Patient, patient["id"])  # as the sync writes it
        row.member_status = "suspended"
        row.member_verified_at = utcnow() - dt.timedelta(days=2, hours=3)
    expected = {"status": "suspended", "eligible": False, "age_days": 2}
    expected |= {"age_text": "verified 2 days ago"}

    shown = clinic.ok("GET", "clerk", f"/api/patients/{patient['id']}")["eligibility"]
    found = clinic.ok("GET", "clerk", "/api/patients?q=110743906")

    assert {k: v for k, v in shown.items() if k != "verified_at"} == expected
    assert [p["eligibility"]["eligible"] for p in found] == [False]
    visit = clinic.ok("POST", "clerk", "/api/visits", {"patient_id": patient["id"]})
    assert visit["eligibility_status"] == "suspended"
    with new_session(clinic.engine) as session, session.begin():
        session.get_one(Patient, patient["id"]).member_status = "active"
    shown = clinic.ok("GET", "clerk", f"/api/patients/{patient['id']}")["eligibility"]
    assert (shown["status"], shown["eligible"]) == ("active", True)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"id_number": "8001015009088"}, "id_number", "checksum"),
        ({"id_number": sa_id(dt.date(1985, 3, 14), "F"), "sex": "M"}, "sex", "does not match"),
        (
            {"id_number": sa_id(dt.date(1985, 3, 14)), "date_of_birth": "1985-03-15"},
            "date_of_birth",
            "does not match",
        ),
        ({"id_number": None}, "date_of_birth", "Give the date of birth"),
        ({"phone": "12345"}, "phone", "Not a valid phone number"),
        ({"medical_aid_number": "110-234"}, "medical_aid_number", "letters or digits"),
        ({"dependant_code": "A1"}, "dependant_code", "2 or 3 digits"),
        ({"first_name": ""}, "first_name", "Length"),
        ({"sex": "X"}, "sex", "Must be one of"),
    ],
)
def test_bad_registrations_are_400_and_change_nothing(
    clinic: Clinic, change: dict[str, Any], field: str, message: str
) -> None:
    clinic.hire("clerk")
    before = row_counts(clinic.engine)
    response = clinic.post("clerk", "/api/patients", patient_fields(**change))
    assert response.status_code == 400
    details = response.get_json()["details"]
    assert field in details and message.lower() in str(details[field]).lower()
    assert row_counts(clinic.engine) == before


def test_the_same_id_number_twice_is_refused(clinic: Clinic) -> None:
    first = clinic.register()
    again = clinic.post("clerk", "/api/patients", patient_fields(id_number=first["id_number"]))
    assert again.status_code == 409
    assert "ID number is already registered" in again.get_json()["error"]


def test_a_likely_duplicate_needs_confirmation(clinic: Clinic) -> None:
    first = clinic.register(
        last_name="Dlamini", id_number=None, date_of_birth="1979-04-12", sex="M"
    )
    twin = patient_fields(last_name="dlamini", id_number=None, date_of_birth="1979-04-12", sex="M")
    twin["first_name"] = "Sipho"
    refused = clinic.post("clerk", "/api/patients", twin)
    assert refused.status_code == 409
    candidates = refused.get_json()["details"]["possible_duplicates"]
    assert [c["id"] for c in candidates] == [first["id"]]
    confirmed = clinic.post("clerk", "/api/patients", {**twin, "allow_duplicate": True})
    assert confirmed.status_code == 201


def test_search_by_name_id_and_medical_aid_with_pagination(clinic: Clinic) -> None:
    a = clinic.register(first_name="Nomsa", last_name="Zulu", medical_aid_number="55501")
    b = clinic.register(first_name="Nomvula", last_name="Zungu", medical_aid_number="55502")
    clinic.register(first_name="Pieter", last_name="Botha", medical_aid_number="55503")

    def ids(query: str) -> list[str]:
        response = clinic.get("nurse", f"/api/patients?{query}")
        assert response.status_code == 200
        return [p["id"] for p in response.get_json()["data"]]

    assert ids("q=NOM") == [a["id"], b["id"]]
    assert ids("q=nomsa zulu") == [a["id"]]
    assert ids(f"q={b['id_number']}") == [b["id"]]
    assert ids(f"q={b['id_number'][:10]}") == [b["id"]]
    assert ids("q=55501") == [a["id"]]
    page = clinic.get("nurse", "/api/patients?q=zu&per_page=1&page=2").get_json()
    assert page["pagination"] == {"page": 2, "per_page": 1, "total": 2, "pages": 2}
    assert [p["id"] for p in page["data"]] == [b["id"]]
    assert clinic.get("nurse", "/api/patients?per_page=500").status_code == 400


def test_update_is_checked_as_a_whole(clinic: Clinic) -> None:
    patient = clinic.register(id_number=sa_id(dt.date(1985, 3, 14), "F"))
    path = f"/api/patients/{patient['id']}"
    clinic.hire("nurse")
    changed = clinic.ok("PUT", "nurse", path, {"phone": "0731234567", "allergies": ["Sulfa"]})
    assert changed["phone"] == "+27731234567" and changed["allergies"] == ["Sulfa"]
    before = row_counts(clinic.engine)
    assert clinic.call("PUT", "nurse", path, {"sex": "M"}).status_code == 400
    assert clinic.call("PUT", "nurse", path, {}).status_code == 400
    assert clinic.call("PUT", "nurse", path, {"stage": "x"}).status_code == 400
    assert row_counts(clinic.engine) == before


def test_deactivation_hides_the_patient_and_blocks_new_visits(clinic: Clinic) -> None:
    patient = clinic.register()
    path = f"/api/patients/{patient['id']}/deactivate"
    assert clinic.ok("POST", "clerk", path, {"reason": "moved away"})["status"] == "deactivated"
    assert clinic.post("clerk", path).status_code == 409
    listed = clinic.get("clerk", "/api/patients?q=" + patient["last_name"]).get_json()["data"]
    assert listed == []
    visit = clinic.post("clerk", "/api/visits", {"patient_id": patient["id"]})
    assert visit.status_code == 409


def test_another_vehicles_patient_is_out_of_reach(clinic: Clinic) -> None:
    with new_session(clinic.engine) as session, session.begin():
        elsewhere = rows.vehicle(session)
        stranger = rows.patient(session, registered_vehicle_id=elsewhere.id, last_name="Stranger")
        stranger_id = stranger.id
    assert clinic.get("doctor", f"/api/patients/{stranger_id}").status_code == 404
    assert (
        clinic.call(
            "PUT", "clerk", f"/api/patients/{stranger_id}", {"phone": "0821234567"}
        ).status_code
        == 404
    )
    assert clinic.post("clerk", "/api/visits", {"patient_id": stranger_id}).status_code == 404
    assert clinic.get("clerk", "/api/patients?q=stranger").get_json()["data"] == []


def test_an_id_number_held_out_of_reach_names_nobody(clinic: Clinic) -> None:
    """Registering an ID number another vehicle's patient holds must not tell this crew
    who that is: no id, no name; confirmed, the patient is registered here and head
    office reconciles the pair."""
    number = sa_id(dt.date(1971, 2, 9), "F")
    with new_session(clinic.engine) as session, session.begin():
        elsewhere = rows.vehicle(session)
        stranger = rows.patient(
            session, registered_vehicle_id=elsewhere.id, last_name="Stranger", id_number=number
        )
        stranger_id = stranger.id
    fields = patient_fields(id_number=number, last_name="Ndlovu")
    clinic.hire("clerk")
    before = clinic.counts()

    refused = clinic.post("clerk", "/api/patients", fields)

    body = refused.get_json()
    assert refused.status_code == 409
    assert body["error"] == (
        "A patient with this ID number is registered elsewhere; head office will reconcile"
    )
    assert body["details"] == {"warnings": [body["error"]]}
    assert stranger_id not in refused.get_data(as_text=True)
    assert "Stranger" not in refused.get_data(as_text=True)
    assert clinic.counts() == before
    confirmed = clinic.ok("POST", "clerk", "/api/patients", {**fields, "allow_duplicate": True})
    assert confirmed["id_number"] == number and confirmed["id"] != stranger_id
    edited = clinic.ok("PUT", "clerk", f"/api/patients/{confirmed['id']}", {"phone": "0821234567"})
    assert edited["phone"] == "+27821234567"  # still editable until head office merges


def test_an_id_number_of_a_patient_in_reach_is_answered_with_them(clinic: Clinic) -> None:
    first = clinic.register()
    again = clinic.post(
        "clerk",
        "/api/patients",
        {**patient_fields(id_number=first["id_number"]), "allow_duplicate": True},
    )
    assert again.status_code == 409
    assert first["id"] in str(again.get_json()["details"]["id_number"])


def test_roles_without_patient_access_are_refused(clinic: Clinic) -> None:
    patient = clinic.register()
    assert clinic.get("inventory_manager", f"/api/patients/{patient['id']}").status_code == 403
    assert clinic.post("social_worker", "/api/patients", patient_fields()).status_code == 403
    assert clinic.get("viewer", f"/api/patients/{patient['id']}").status_code == 200


def test_reading_a_patient_is_audited(clinic: Clinic) -> None:
    patient = clinic.register()
    clinic.get("doctor", f"/api/patients/{patient['id']}")
    with clinic.engine.connect() as connection:
        record = connection.execute(
            select(AuditRecord).where(
                AuditRecord.action == "read", AuditRecord.patient_id == patient["id"]
            )
        ).one()
    assert record.user_id == clinic.staff("doctor").id and record.resource_type == "patient"


def test_the_timeline_shows_a_visit_in_time_order(clinic: Clinic) -> None:
    patient = clinic.register()
    visit = clinic.visit_at("closure", patient)
    events = clinic.get("doctor", f"/api/patients/{patient['id']}/timeline?per_page=100").get_json()
    kinds = [e["kind"] for e in events["data"]]
    assert kinds[0] == "stage" and "vitals" in kinds and "diagnosis" in kinds
    assert kinds.index("vitals") < kinds.index("diagnosis") < kinds.index("claim")
    assert all(e["visit_id"] == visit for e in events["data"])
    stamps = [e["at"] for e in events["data"]]
    assert stamps == sorted(stamps)
    with new_session(clinic.engine) as session:
        assert session.get(Visit, visit).status == "closed"
        assert session.scalar(select(Patient.id).where(Patient.id == patient["id"]))
