"""The crew sees, in real headless Chromium, what became of their claims at PALMED: the
alert a rejection raises leads to the claims page, which shows each claim's status and
PALMED's reasons, and so does the visit's closure panel."""

from __future__ import annotations

from typing import Any

from bench.meter import serving
from common.database import new_session
from edge.alert.service import raise_alert
from schema.base import utcnow
from schema.models import Claim
from tests.browser.test_clinic import logged_in
from tests.support.claims import synced_claim
from tests.support.clinic import Clinic
from tests.support.identity import make_vehicle

REASON = "MEMBER_INACTIVE: Not covered on the service date (suspended)"


def settled_at_palmed(clinic: Clinic, visit: str, status: str, reasons: list[str]) -> str:
    """Write PALMED's decision onto a visit's claim, and a rejection's alert, as the hub
    does and the sync brings them to the vehicle (tests/hub/test_claims_e2e.py shows the
    whole way)."""
    claim_id: str = clinic.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]["id"]
    with new_session(clinic.engine) as session, session.begin():
        claim = session.get_one(Claim, claim_id)
        claim.status, claim.problems, claim.updated_at = status, reasons, utcnow()
        claim.rejection_codes = [reason.split(":")[0] for reason in reasons]
        claim.palmed_claim_id = f"PLM{claim_id[-8:].upper()}"
        if status == "rejected":
            raise_alert(
                session,
                vehicle_id=claim.vehicle_id,
                kind="claim",
                priority="high",
                title="PALMED rejected the claim for the visit of today",
                detail="; ".join(reasons),
                resource_type="claim",
                resource_id=claim.id,
            )
    return claim_id


def test_the_crew_follows_a_rejection_alert_to_the_claim_and_sees_why(
    browser: Any, clinic: Clinic
) -> None:
    clinic.hire("clerk", "nurse", "doctor", "social_worker")
    suspended = clinic.register(first_name="Zanele", last_name="Khumalo")
    rejected_visit = clinic.visit_at("closure", suspended)
    rejected = settled_at_palmed(clinic, rejected_visit, "rejected", [REASON])
    accepted = settled_at_palmed(clinic, clinic.visit_at("closure"), "accepted", [])
    elsewhere = synced_claim(clinic.engine, make_vehicle(clinic.engine), status="accepted")

    with serving(clinic.app) as base, logged_in(browser, base, clinic, "nurse") as page:
        page.goto(base + "/crew/alerts")
        alert = page.locator("[data-testid=alert]", has_text="PALMED rejected")
        assert REASON in alert.locator("[data-testid=alert-detail]").inner_text()
        with page.expect_navigation():
            alert.locator("[data-testid=alert-claim]").click()
        row = page.locator(f"#claim-{rejected}")
        assert row.locator("[data-testid=claim-status]").inner_text() == "rejected"
        assert row.locator("[data-testid=claim-reasons]").inner_text() == REASON
        assert "head office finance can correct and resubmit it" in row.inner_text()
        assert "Zanele Khumalo" in row.inner_text()
        other = page.locator(f"#claim-{accepted}")
        assert other.locator("[data-testid=claim-status]").inner_text() == "accepted"
        assert other.locator("[data-testid=claim-reasons]").count() == 0
        assert page.locator(f"#claim-{elsewhere}").count() == 0  # another vehicle's

        page.select_option("#claim-status-filter", "rejected")
        with page.expect_navigation():
            page.click("text=Show")
        assert page.locator("[data-testid=claim-row]").count() == 1
        with page.expect_navigation():
            page.click(f"#claim-{rejected} a")
        closure = page.locator("[data-panel=closure]")
        assert closure.locator("[data-testid=claim-status]").inner_text() == "rejected"
        assert closure.locator("[data-testid=claim-reasons]").inner_text() == REASON
        assert f"PALMED claim PLM{rejected[-8:].upper()}" in closure.inner_text()

        assert page.goto(base + "/claims?status=lost").status == 400
