"""Clinical notes typed by stage, and referrals."""

from __future__ import annotations

from tests.support.clinic import Clinic


def test_notes_take_the_type_of_the_stage_they_are_written_at(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    nursing = clinic.ok("POST", "nurse", "/api/clinical-notes", {"visit_id": visit, "body": "Calm"})
    clinic.complete(visit, "nursing_assessment")
    clinical = clinic.ok(
        "POST", "doctor", "/api/clinical-notes", {"visit_id": visit, "body": "URTI"}
    )
    assert (nursing["kind"], nursing["stage"]) == ("nursing", "nursing_assessment")
    assert (clinical["kind"], clinical["stage"]) == ("clinical", "doctor_consultation")
    listed = clinic.ok("GET", "social_worker", f"/api/clinical-notes/{visit}")
    assert [n["id"] for n in listed] == [nursing["id"], clinical["id"]]


def test_a_note_by_a_role_not_at_the_stage_is_refused(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    clinic.hire("doctor", "social_worker")
    before = clinic.counts()
    body = {"visit_id": visit, "body": "x"}
    assert clinic.post("doctor", "/api/clinical-notes", body).status_code == 403
    assert clinic.post("social_worker", "/api/clinical-notes", body).status_code == 403
    assert clinic.post("clerk", "/api/clinical-notes", body).status_code == 403
    assert (
        clinic.post("nurse", "/api/clinical-notes", {"visit_id": visit, "body": ""}).status_code
        == 400
    )
    assert clinic.counts() == before


def test_referrals_at_consultation_and_counseling_listed_by_status(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    body = {
        "visit_id": visit,
        "kind": "external",
        "facility": "Mankweng Hospital",
        "reason": "Chest X-ray",
        "urgency": "urgent",
    }
    made = clinic.ok("POST", "doctor", "/api/referrals", body)
    assert (made["status"], made["urgency"]) == ("open", "urgent")
    clinic.complete(visit, "doctor_consultation")
    counsel = {**body, "kind": "internal", "facility": "Social services", "urgency": "routine"}
    clinic.ok("POST", "social_worker", "/api/referrals", counsel)
    listed = clinic.get("nurse", "/api/referrals?urgency=urgent").get_json()
    assert [r["id"] for r in listed["data"]] == [made["id"]]
    assert listed["pagination"]["total"] == 1
    assert (
        clinic.get("nurse", f"/api/referrals?visit_id={visit}").get_json()["pagination"]["total"]
        == 2
    )


def test_bad_referrals_are_refused(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    nursing = clinic.visit_at("nursing_assessment")
    clinic.hire("doctor", "nurse")
    before = clinic.counts()
    good = {
        "visit_id": visit,
        "kind": "external",
        "facility": "Clinic",
        "reason": "r",
        "urgency": "routine",
    }
    assert (
        clinic.post("doctor", "/api/referrals", {**good, "urgency": "whenever"}).status_code == 400
    )
    assert clinic.post("doctor", "/api/referrals", {**good, "kind": "sideways"}).status_code == 400
    assert clinic.post("doctor", "/api/referrals", {**good, "visit_id": nursing}).status_code == 409
    assert clinic.post("nurse", "/api/referrals", good).status_code == 403
    assert clinic.counts() == before


def test_a_referral_is_followed_up_to_a_final_status(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    body = {
        "visit_id": visit,
        "kind": "external",
        "facility": "Hospital",
        "reason": "r",
        "urgency": "routine",
    }
    made = clinic.ok("POST", "doctor", "/api/referrals", body)
    path = f"/api/referrals/{made['id']}/status"
    assert clinic.ok("POST", "doctor", path, {"status": "sent"})["status"] == "sent"
    assert (
        clinic.ok("POST", "social_worker", path, {"status": "completed"})["status"] == "completed"
    )
    assert clinic.post("doctor", path, {"status": "cancelled"}).status_code == 409
    assert clinic.post("doctor", path, {"status": "open"}).status_code == 400
    assert clinic.post("nurse", path, {"status": "sent"}).status_code == 403
