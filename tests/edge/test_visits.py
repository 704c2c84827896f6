"""The visits API: opening, the stage actions by role, exit rules, the administrator's
corrections, one open visit per patient per day, and the queue."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from common.database import new_session
from schema.base import utcnow
from schema.models import Claim, ClaimLine, Visit, VisitTransition
from tests.support import rows
from tests.support.clinic import Clinic


def test_a_visit_walks_the_five_stages_and_records_who_and_when(clinic: Clinic) -> None:
    visit = clinic.visit_at("closure")
    data = clinic.ok("GET", "viewer", f"/api/visits/{visit}")
    assert (data["stage"], data["status"]) == ("closure", "closed")
    assert data["closed_by"] == clinic.staff("social_worker").id
    moves = [(t["from_stage"], t["to_stage"], t["actor_role"]) for t in data["transitions"]]
    assert moves == [
        (None, "registration", "clerk"),
        ("registration", "nursing_assessment", "clerk"),
        ("nursing_assessment", "doctor_consultation", "nurse"),
        ("doctor_consultation", "counseling_session", "doctor"),
        ("counseling_session", "closure", "social_worker"),
    ]
    assert "J06.9" in data["summary"] or "J069" in data["summary"]
    assert data["claim"]["status"] in ("ready", "needs_attention")


def test_the_wrong_role_cannot_move_a_stage(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    clinic.ok("POST", "nurse", "/api/vital-signs", {"visit_id": visit, "pulse": 70})
    clinic.hire()
    before = clinic.counts()
    for role in ("clerk", "doctor", "social_worker", "viewer", "finance"):
        response = clinic.post(role, f"/api/visits/{visit}/advance")
        assert response.status_code == 403, role
    assert clinic.counts() == before


def test_a_stage_cannot_be_left_incomplete(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    response = clinic.post("nurse", f"/api/visits/{visit}/advance")
    assert response.status_code == 409 and "vital signs" in response.get_json()["error"]
    consult = clinic.visit_at("doctor_consultation")
    response = clinic.post("doctor", f"/api/visits/{consult}/advance")
    assert response.status_code == 409 and "ICD-10" in response.get_json()["error"]
    counsel = clinic.visit_at("counseling_session")
    response = clinic.post("social_worker", f"/api/visits/{counsel}/advance")
    assert response.status_code == 409 and "counseling note" in response.get_json()["error"]
    bad = clinic.post("nurse", f"/api/visits/{visit}/advance", {"skip_reason": "busy"})
    assert bad.status_code == 400


def test_counseling_skipped_with_a_reason_closes_the_visit(clinic: Clinic) -> None:
    visit = clinic.visit_at("counseling_session")
    body = {"skip_reason": "No social worker on board today"}
    closed = clinic.ok("POST", "social_worker", f"/api/visits/{visit}/advance", body)
    assert closed["status"] == "closed"
    assert closed["counseling_skip_reason"] == "No social worker on board today"
    assert "Counseling skipped" in closed["summary"]


def test_one_open_visit_per_patient_per_day(clinic: Clinic) -> None:
    patient = clinic.register()
    clinic.ok("POST", "clerk", "/api/visits", {"patient_id": patient["id"]})
    clinic.hire("nurse")
    before = clinic.counts()
    again = clinic.post("nurse", "/api/visits", {"patient_id": patient["id"]})
    assert again.status_code == 409
    assert clinic.counts() == before


def test_a_closed_visit_allows_a_new_one_the_same_day(clinic: Clinic) -> None:
    patient = clinic.register()
    clinic.visit_at("closure", patient)
    assert clinic.post("clerk", "/api/visits", {"patient_id": patient["id"]}).status_code == 201


def test_only_registration_roles_open_visits(clinic: Clinic) -> None:
    patient = clinic.register()
    assert clinic.post("doctor", "/api/visits", {"patient_id": patient["id"]}).status_code == 403
    assert clinic.post("clerk", "/api/visits", {}).status_code == 400
    missing = "00000000-0000-7000-8000-000000000000"
    assert clinic.post("clerk", "/api/visits", {"patient_id": missing}).status_code == 404


def test_an_administrator_moves_back_with_a_reason_and_it_is_recorded(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    assert clinic.post("doctor", f"/api/visits/{visit}/back", {"reason": "x"}).status_code == 403
    assert clinic.post("administrator", f"/api/visits/{visit}/back", {}).status_code == 400
    back = clinic.ok(
        "POST", "administrator", f"/api/visits/{visit}/back", {"reason": "vitals were wrong"}
    )
    assert back["stage"] == "nursing_assessment"
    last = back["transitions"][-1]
    assert (last["kind"], last["reason"], last["actor_role"]) == (
        "back",
        "vitals were wrong",
        "administrator",
    )


def test_reopen_withdraws_the_claim_and_closing_again_drafts_one_that_supersedes_it(
    clinic: Clinic,
) -> None:
    visit = clinic.visit_at("closure")
    first = clinic.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]
    assert (
        clinic.post("administrator", f"/api/visits/{visit}/back", {"reason": "x"}).status_code
        == 409
    )
    reopened = clinic.ok(
        "POST", "administrator", f"/api/visits/{visit}/reopen", {"reason": "lab result came"}
    )
    assert (reopened["stage"], reopened["status"], reopened["claim"]) == (
        "counseling_session",
        "open",
        None,
    )
    with new_session(clinic.engine) as session:
        withdrawn = session.get_one(Claim, first["id"])
        kept = session.scalars(select(ClaimLine).where(ClaimLine.claim_id == first["id"])).all()
    assert (withdrawn.status, withdrawn.withdrawal_reason) == ("withdrawn", "lab result came")
    assert withdrawn.withdrawn_by == clinic.staff("administrator").id
    assert withdrawn.withdrawn_at is not None
    assert len(kept) == len(first["lines"]) > 0  # never deleted: the hub may have sent it

    closed = clinic.ok("POST", "social_worker", f"/api/visits/{visit}/advance")

    assert closed["status"] == "closed"
    assert closed["claim"]["id"] != first["id"]
    assert closed["claim"]["supersedes_id"] == first["id"]
    assert closed["claim"]["status"] == first["status"]
    with new_session(clinic.engine) as session:
        claims = session.scalars(select(Claim).where(Claim.visit_id == visit)).all()
        kinds = session.scalars(
            select(VisitTransition.kind).where(VisitTransition.visit_id == visit)
        ).all()
    assert sorted(c.status for c in claims) == sorted([first["status"], "withdrawn"])
    assert "reopen" in kinds


@pytest.mark.parametrize("status", ["submitted", "accepted", "rejected", "paid"])
def test_a_claim_the_hub_has_sent_is_withdrawn_too_and_the_next_claim_corrects_it(
    clinic: Clinic, status: str
) -> None:
    """The vehicle cannot know whether the hub has sent a claim since it last synced: a
    reopen withdraws whatever claim the visit has; the hub decides what that means."""
    visit = clinic.visit_at("closure")
    with new_session(clinic.engine) as session, session.begin():
        sent = session.scalars(select(Claim).where(Claim.visit_id == visit)).one()
        sent.status = status
    clinic.ok("POST", "administrator", f"/api/visits/{visit}/reopen", {"reason": "wrong code"})
    closed = clinic.ok("POST", "social_worker", f"/api/visits/{visit}/advance")
    with new_session(clinic.engine) as session:
        assert session.get_one(Claim, sent.id).status == "withdrawn"
    assert closed["claim"]["supersedes_id"] == sent.id


def test_a_visit_reopened_twice_keeps_one_chain_of_claims(clinic: Clinic) -> None:
    visit = clinic.visit_at("closure")
    for reason in ("first correction", "second correction"):
        clinic.ok("POST", "administrator", f"/api/visits/{visit}/reopen", {"reason": reason})
        clinic.ok("POST", "social_worker", f"/api/visits/{visit}/advance")
    with new_session(clinic.engine) as session:
        claims = session.scalars(
            select(Claim).where(Claim.visit_id == visit).order_by(Claim.created_at)
        ).all()
    assert [c.supersedes_id for c in claims] == [None, claims[0].id, claims[1].id]
    assert [c.status for c in claims][:2] == ["withdrawn", "withdrawn"]
    assert claims[2].status != "withdrawn"
    shown = clinic.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]
    assert shown["id"] == claims[2].id


def test_put_changes_only_the_summary_and_location(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    path = f"/api/visits/{visit}"
    assert clinic.ok("PUT", "nurse", path, {"summary": "Came with her child"})["summary"] == (
        "Came with her child"
    )
    assert clinic.call("PUT", "nurse", path, {"stage": "closure"}).status_code == 400
    assert clinic.call("PUT", "doctor", path, {"summary": "x"}).status_code == 403
    bad_location = {"location_id": "00000000-0000-7000-8000-000000000000"}
    assert clinic.call("PUT", "nurse", path, bad_location).status_code == 400


def test_another_vehicles_visit_is_not_found(clinic: Clinic) -> None:
    with new_session(clinic.engine) as session, session.begin():
        elsewhere = rows.vehicle(session)
        patient = rows.patient(session, registered_vehicle_id=elsewhere.id)
        patient_id = patient.id
    with new_session(clinic.engine) as session, session.begin():
        other = Visit(
            patient_id=patient_id,
            vehicle_id=elsewhere.id,
            visit_date=utcnow().date(),
            open_day=utcnow().date(),
            stage="nursing_assessment",
            status="open",
            opened_by="someone",
            opened_at=utcnow(),
        )
        session.add(other)
        session.flush()
        other_id = other.id
    assert clinic.get("nurse", f"/api/visits/{other_id}").status_code == 404
    body = {"visit_id": other_id, "pulse": 70}
    assert clinic.post("nurse", "/api/vital-signs", body).status_code == 404
    assert clinic.post("nurse", f"/api/visits/{other_id}/advance").status_code == 404


def test_the_queue_shows_who_waits_where(clinic: Clinic) -> None:
    waiting = clinic.visit_at("registration")
    nursing = clinic.visit_at("nursing_assessment")
    done = clinic.visit_at("closure")
    queue = clinic.ok("GET", "nurse", "/api/visits/queue")
    assert set(queue) == {
        "registration",
        "nursing_assessment",
        "doctor_consultation",
        "counseling_session",
    }
    assert [e["visit_id"] for e in queue["registration"]] == [waiting]
    assert [e["visit_id"] for e in queue["nursing_assessment"]] == [nursing]
    assert done not in str(queue)
    assert queue["registration"][0]["patient_name"].startswith("Thandi ")
    assert clinic.get("inventory_manager", "/api/visits/queue").status_code == 403


def test_a_visit_names_only_the_patients_own_appointment(clinic: Clinic) -> None:
    patient = clinic.register()
    missing = "00000000-0000-7000-8000-000000000000"
    body = {"patient_id": patient["id"], "appointment_id": missing}
    response = clinic.post("clerk", "/api/visits", body)
    assert response.status_code == 400 and "appointment_id" in response.get_json()["details"]
