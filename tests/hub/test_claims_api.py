"""Finance at the hub: claims listed and explained, corrected and resubmitted within the
scheme's window, and `POST /api/sync/palmed` running the pipeline against the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, select, update

from common.database import new_session
from schema.models import AuditRecord, ClaimAttempt
from tests.support.claims import claim_row, correction, synced_claim
from tests.support.identity import Staff
from tests.support.palmed import Sandbox
from tests.support.tables import AUDIT_TABLES, row_counts

pytestmark = pytest.mark.mysql

SUSPENDED = "110743906"


@pytest.fixture
def palmed_hub(hub_app: Flask, palmed_sandbox: Sandbox) -> Sandbox:
    """The hub app pointed at a running sandbox."""
    hub_app.config.update(PALMED_API_URL=palmed_sandbox.url, PALMED_API_KEY=palmed_sandbox.api_key)
    return palmed_sandbox


def sync(client: Any, staff: Staff) -> dict[str, Any]:
    response = client.post("/api/sync/palmed", headers=staff.headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_finance_triggers_a_run_that_sends_queued_claims_to_palmed(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    palmed_hub: Sandbox,
) -> None:
    vehicle = hub_vehicle()
    good = synced_claim(hub_engine, vehicle)
    bad = synced_claim(hub_engine, vehicle, icd10_codes=[])

    body = sync(hub_client, hub_user("finance"))

    assert body["data"]["queued"] == 1 and body["data"]["needs_attention"] == 1
    assert body["data"]["submitted"] == {"accepted": 1}
    assert "changes" in body["data"]["members"]
    assert [c["reference"] for c in palmed_hub.claims()] == [good]
    assert claim_row(hub_engine, bad).problems == ["No ICD-10 diagnosis code"]


def test_sync_is_refused_to_crew_and_explained_when_palmed_is_not_configured(
    hub_client: Any, hub_user: Callable[..., Staff], hub_app: Flask
) -> None:
    nurse = hub_user("nurse")
    assert hub_client.post("/api/sync/palmed", headers=nurse.headers).status_code == 403
    hub_app.config["PALMED_API_KEY"] = ""
    response = hub_client.post("/api/sync/palmed", headers=hub_user("administrator").headers)
    assert response.status_code == 409
    assert response.get_json() == {
        "success": False,
        "error": "PALMED is not configured on this hub: PALMED_API_KEY is not set",
    }


def test_a_rejected_claim_is_explained_corrected_and_accepted_on_resubmission(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    palmed_hub: Sandbox,
) -> None:
    finance = hub_user("finance")
    claim_id = synced_claim(hub_engine, hub_vehicle(), member_number=SUSPENDED)
    sync(hub_client, finance)

    shown = hub_client.get(f"/api/claims/{claim_id}", headers=finance.headers).get_json()["data"]
    assert shown["status"] == "rejected" and shown["rejection_codes"] == ["MEMBER_INACTIVE"]
    assert shown["resubmit_until"] == (dt.date.today() + dt.timedelta(days=60)).isoformat()
    assert [a["outcome"] for a in shown["attempts"]] == ["rejected"]
    assert [line["code"] for line in shown["lines"]] == ["0190", "7010017"]

    correction = {
        "member_number": "110587342",
        "lines": [{"kind": "tariff", "code": "0190", "quantity": 1, "amount": "480.00"}],
    }
    response = hub_client.post(
        f"/api/claims/{claim_id}/resubmit", json=correction, headers=finance.headers
    )
    assert response.status_code == 200, response.get_json()
    queued = response.get_json()["data"]
    assert queued["status"] == "queued" and queued["problems"] == []
    assert queued["total_amount"] == "480.00"
    sync(hub_client, finance)

    claim = claim_row(hub_engine, claim_id)
    assert (claim.status, claim.member_number) == ("accepted", "110587342")
    assert claim.rejection_codes == []
    held = {c["status"]: c for c in palmed_hub.claims()}  # received in the same second
    assert sorted(held) == ["accepted", "rejected"]
    assert held["accepted"]["idempotency_key"] != held["rejected"]["idempotency_key"]
    with new_session(hub_engine) as session:
        mine = select(AuditRecord.action).where(AuditRecord.user_id == finance.id)
        assert "claim_resubmitted" in set(session.scalars(mine))


def test_resubmission_is_refused_after_60_days_and_for_claims_not_rejected(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    palmed_hub: Sandbox,
) -> None:
    finance = hub_user("finance")
    vehicle = hub_vehicle()
    rejected = synced_claim(hub_engine, vehicle, member_number=SUSPENDED)
    accepted = synced_claim(hub_engine, vehicle)
    sync(hub_client, finance)
    with new_session(hub_engine) as session, session.begin():
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=61)
        session.execute(update(ClaimAttempt).values(at=long_ago))
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)

    late = hub_client.post(f"/api/claims/{rejected}/resubmit", headers=finance.headers)
    done = hub_client.post(f"/api/claims/{accepted}/resubmit", headers=finance.headers)
    missing = hub_client.post("/api/claims/nope/resubmit", headers=finance.headers)

    assert late.status_code == 409 and "window" in late.get_json()["error"]
    assert done.status_code == 409 and "this one is accepted" in done.get_json()["error"]
    assert missing.status_code == 404
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    assert claim_row(hub_engine, rejected).status == "rejected"


@pytest.mark.parametrize(
    ("correction", "error"),
    [
        ({"icd10_codes": ["E11"]}, "The corrected claim still cannot be sent"),
        ({"lines": []}, "Invalid input"),
        ({"lines": [{"kind": "drug", "code": "1", "quantity": 1, "amount": "1"}]}, "Invalid input"),
        ({"member_number": "not a number!"}, "Invalid input"),
        ({"status": "paid"}, "Invalid input"),
    ],
)
def test_a_bad_correction_is_a_400_and_changes_nothing(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    correction: dict[str, Any],
    error: str,
) -> None:
    finance = hub_user("finance")
    claim_id = synced_claim(hub_engine, hub_vehicle(), icd10_codes=[], status="needs_attention")
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)

    response = hub_client.post(
        f"/api/claims/{claim_id}/resubmit", json=correction, headers=finance.headers
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == error
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    assert claim_row(hub_engine, claim_id).status == "needs_attention"


def test_claims_are_listed_by_status_for_finance_and_not_for_crew(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
) -> None:
    vehicle, other = hub_vehicle(), hub_vehicle()
    held = synced_claim(hub_engine, vehicle, status="needs_attention")
    synced_claim(hub_engine, vehicle)
    synced_claim(hub_engine, other, status="needs_attention")
    finance = hub_user("finance")

    query = f"/api/claims?status=needs_attention&vehicle_id={vehicle}&per_page=5"
    body = hub_client.get(query, headers=finance.headers).get_json()

    assert [c["id"] for c in body["data"]] == [held]
    assert body["pagination"] == {"page": 1, "per_page": 5, "total": 1, "pages": 1}
    assert hub_client.get("/api/claims", headers=hub_user("doctor").headers).status_code == 403
    bad = hub_client.get("/api/claims?status=lost", headers=finance.headers)
    assert bad.status_code == 400
    with new_session(hub_engine) as session:
        reads = session.scalars(select(AuditRecord).where(AuditRecord.user_id == finance.id)).all()
    assert [(r.action, r.resource_type) for r in reads] == [("list", "claim")]


def test_finance_sees_the_chain_of_a_corrected_claim_and_its_reversal(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    palmed_hub: Sandbox,
) -> None:
    finance = hub_user("finance")
    original = synced_claim(hub_engine, hub_vehicle())
    sync(hub_client, finance)
    fixed = correction(hub_engine, original)

    body = sync(hub_client, finance)

    assert body["data"]["reversed"] == {"reversed": 1}
    assert body["data"]["submitted"] == {"accepted": 1}
    shown = hub_client.get(f"/api/claims/{original}", headers=finance.headers).get_json()["data"]
    assert (shown["status"], shown["superseded_by_id"], shown["supersedes_id"]) == (
        "reversed",
        fixed,
        None,
    )
    assert [(a["kind"], a["outcome"]) for a in shown["attempts"]] == [
        ("submission", "accepted"),
        ("reversal", "reversed"),
    ]
    [held] = palmed_hub.admin("GET", "/reversals")
    assert shown["reversal"]["state"] == "reversed"
    assert shown["reversal"]["corrected_by_id"] == fixed
    assert shown["reversal"]["palmed_reversal_id"] == held["reversal_id"]
    visit = shown["visit_id"]
    listed = hub_client.get(f"/api/claims?visit_id={visit}", headers=finance.headers).get_json()
    chain = {c["id"]: (c["supersedes_id"], c["superseded_by_id"]) for c in listed["data"]}
    assert chain == {original: (None, fixed), fixed: (original, None)}
    reversed_only = hub_client.get("/api/claims?status=reversed", headers=finance.headers)
    assert [c["id"] for c in reversed_only.get_json()["data"]] == [original]
    page = hub_client.get(f"/claims?visit_id={visit}", headers=finance.headers)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('data-testid="supersedes"') == html.count('data-testid="superseded-by"') == 1
    assert f"#claim-{original}" in html and f"#claim-{fixed}" in html


def test_a_superseded_claim_is_not_resubmitted(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    palmed_hub: Sandbox,
) -> None:
    finance = hub_user("finance")
    original = synced_claim(hub_engine, hub_vehicle(), member_number=SUSPENDED)
    sync(hub_client, finance)
    fixed = correction(hub_engine, original)
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)

    response = hub_client.post(f"/api/claims/{original}/resubmit", headers=finance.headers)

    assert response.status_code == 409
    assert fixed in response.get_json()["error"]
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    bad = hub_client.get("/api/claims?status=superseded", headers=finance.headers)
    assert bad.status_code == 400
