"""Issue 8's end to end across real processes: a `clinic-hub serve` process on MySQL, the
PALMED sandbox (`palmed-sandbox serve`), `clinic-hub push-claims` processes, and an edge
on SQLCipher that enrolled with the hub and syncs over HTTP.

A visit walked through its five stages on the edge while the hub is down becomes, once
synced and pushed, exactly one accepted claim at the sandbox: with a timeout after the
sandbox accepted, with 5xx answers, and with two pipeline processes at once. PALMED's
rejections come back to the edge as the claim's status and reasons and as an alert; bad
claim data is held with its reasons and the sandbox never hears of it; a member PALMED
terminated reaches the vehicle's copy through the hub and shows as not eligible offline.
A visit reopened on the vehicle after PALMED accepted its claim (the vehicle not told
yet) keeps the accepted claim and its lines at the hub; closing it again makes a
correction, and PALMED ends with the original reversed and the correction accepted,
once each, hub and vehicle agreeing on every claim and line.

The processes and the enrolled edge are made once for the module; each test closes its
own visit for its own demo member (the sandbox refuses a second identical claim for a
member and day as a duplicate) and looks only at that visit's claim.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, text

from common.auth import tokens
from common.database import db, new_session, plain_engine, sqlcipher_engine
from common.users import create_user
from edge import create_app
from edge.sync import service as edge_sync
from hub.sync import device as devices
from schema.models import Claim, ClaimLine, ClaimSubmission, Patient, Tariff, User, Vehicle
from tests.conftest import edge_config
from tests.support import mysql
from tests.support.claims import attempts, claim_row, push_claims
from tests.support.clinic import Clinic
from tests.support.hubprocess import HubProcess
from tests.support.identity import PASSWORD, Staff, make_vehicle
from tests.support.palmed import Sandbox
from tests.support.sync import table_rows

pytestmark = pytest.mark.mysql

CREW = ("clerk", "nurse", "doctor", "social_worker", "administrator")
READ_TIMEOUT = "2"  # seconds the pushing processes wait for PALMED's answer


@dataclass
class World:
    hub: HubProcess
    hub_url: str
    hub_engine: Engine
    sandbox: Sandbox
    edge: Clinic
    edge_sync_engine: Engine

    def sync(self) -> None:
        """The edge syncs with the hub now, as `clinic-edge sync` would."""
        edge_sync.run(self.edge_sync_engine, self.edge.app.config)

    def push(self, processes: int = 1) -> list[str]:
        """Run `clinic-hub push-claims` in this many processes at once; their output."""
        env = {"PALMED_READ_TIMEOUT_SECONDS": READ_TIMEOUT}
        running = [push_claims(self.hub_url, self.sandbox, **env) for _ in range(processes)]
        outputs = [process.communicate(timeout=120)[0] for process in running]
        assert [process.returncode for process in running] == [0] * processes, outputs
        return outputs

    def close_visit(
        self, member: str | None, dependant: str | None, patient: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A patient registered (unless given) and seen through all five stages on the
        edge; the visit's closure drafts its claim there."""
        patient = patient or self.edge.register(medical_aid_number=member, dependant_code=dependant)
        visit = self.edge.visit_at("closure", patient)
        return self.edge_claim(visit) | {"visit_id": visit}

    @contextmanager
    def offline(self) -> Iterator[None]:
        """No hub at all while the crew works, then the hub is back."""
        assert self.hub.process is not None
        self.hub.process.terminate()
        self.hub.process.wait(timeout=10)
        try:
            yield
        finally:
            self.hub.start()

    def at_hub(self, method: str, path: str) -> Any:
        """Call the hub process's API as head office's finance user."""
        login = requests.post(
            self.hub.base + "/api/auth/login",
            json={"username": "e2e.finance", "password": PASSWORD},
            timeout=10,
        )
        headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        response = requests.request(method, self.hub.base + path, headers=headers, timeout=60)
        assert response.ok, response.text
        return response.json()["data"]

    def edge_claim(self, visit: str) -> dict[str, Any]:
        claim: dict[str, Any] = self.edge.ok("GET", "doctor", f"/api/visits/{visit}")["claim"]
        return claim

    def at_palmed(self, claim_id: str) -> list[dict[str, Any]]:
        """Every claim the sandbox holds for this claim of ours (its `reference`)."""
        return [held for held in self.sandbox.claims() if held["reference"] == claim_id]

    def edge_alerts(self, claim_id: str) -> list[dict[str, Any]]:
        found = self.edge.ok("GET", "nurse", "/api/alerts?per_page=100")
        return [alert for alert in found if alert["resource_id"] == claim_id]


@pytest.fixture(scope="module")
def world(
    hub_database_url: str,
    edge_template: Path,
    edge_key: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("claims-e2e")
    hub_engine = plain_engine(hub_database_url)
    mysql.empty_tables(hub_engine)
    sandbox = Sandbox(
        tmp / "palmed" / "sandbox.db",
        tmp / "palmed" / "sandbox.log",
        environment={"TZ": "Africa/Johannesburg"},  # the clinic day is the sandbox's day
    )
    sandbox.start()
    hub = HubProcess(hub_database_url, tmp)
    hub.env |= {
        "PALMED_API_URL": sandbox.url,
        "PALMED_API_KEY": sandbox.api_key,
        "PALMED_READ_TIMEOUT_SECONDS": READ_TIMEOUT,
    }
    hub.start()
    vehicle = make_vehicle(hub_engine, name="Clinic E2E")
    crew = _head_office_setup(hub_engine, vehicle)
    database = tmp / "edge" / "edge.db"
    database.parent.mkdir()
    shutil.copyfile(edge_template, database)
    sync_engine = sqlcipher_engine(database, edge_key)
    with sync_engine.begin() as connection:
        connection.execute(text("UPDATE sync_node SET id = 'd00000000e2ec'"))
    app = create_app(edge_config(database, edge_key))
    with new_session(hub_engine) as session, session.begin():
        token = devices.issue_token(session, vehicle, None).token
    edge_sync.enroll(sync_engine, Path(app.config["SECRETS_DIR"]), hub.base, token)
    edge_sync.run(sync_engine, app.config)  # users, vehicle and tariff reach the edge

    def staff(role: str) -> Staff:
        user_id = crew[role]
        with app.app_context():
            user = db.session.get_one(User, user_id)
            issued = tokens.issue(app.config["SECRET_KEY"], user)
        return Staff(
            user_id, role, PASSWORD, role, role, issued["access_token"], issued["refresh_token"]
        )

    edge = Clinic(app, app.test_client(), sync_engine, vehicle, staff, {})
    try:
        yield World(hub, hub_database_url, hub_engine, sandbox, edge, sync_engine)
    finally:
        sync_engine.dispose()
        with app.app_context():
            db.engine.dispose()
        sandbox.stop()
        if hub.process is not None and hub.process.poll() is None:
            hub.process.terminate()
            hub.process.wait(timeout=10)
        hub_engine.dispose()


def _head_office_setup(engine: Engine, vehicle: str) -> dict[str, str]:
    """What head office gives a vehicle before it goes out: its crew and the
    consultation tariff; and a finance user at head office."""
    with new_session(engine) as session, session.begin():
        session.add(
            Tariff(
                code="0190",
                description="Consultation: average duration",
                kind="consultation",
                amount=Decimal("520.00"),
                active=True,
            )
        )
        users = {
            role: create_user(
                session,
                username=f"e2e.{role}",
                full_name=f"E2E {role}",
                role=role,
                password=PASSWORD,
                vehicle_ids=[vehicle],
            )
            for role in CREW
        }
        create_user(
            session,
            username="e2e.finance",
            full_name="E2E finance",
            role="finance",
            password=PASSWORD,
        )
        session.flush()
        return {role: user.id for role, user in users.items()}


def test_a_visit_closed_offline_becomes_one_accepted_claim_despite_a_late_answer(
    world: World,
) -> None:
    with world.offline():
        claim = world.close_visit("110234561", "00")
    assert claim["status"] == "ready"
    world.sync()
    # PALMED accepts and stores the claim, then its answer comes too late.
    world.sandbox.set_faults(
        {"kind": "delay", "when": "after", "seconds": 4, "method": "POST", "times": 1}
    )

    world.push()

    [held] = world.at_palmed(claim["id"])
    assert held["status"] == "accepted"
    first, second = attempts(world.hub_engine, claim["id"])
    assert (first.outcome, first.http_status) == ("unknown", None)
    assert (second.outcome, second.http_status) == ("accepted", 200)  # replayed, not new
    assert first.idempotency_key == second.idempotency_key == held["idempotency_key"]
    hub_claim = claim_row(world.hub_engine, claim["id"])
    assert (hub_claim.status, hub_claim.palmed_claim_id) == ("accepted", held["claim_id"])
    world.sync()
    assert world.edge_claim(claim["visit_id"])["status"] == "accepted"


def test_5xx_answers_are_retried_into_one_accepted_claim(world: World) -> None:
    claim = world.close_visit("110234561", "01")
    world.sync()
    world.sandbox.set_faults({"kind": "error", "status": 503, "method": "POST", "times": 2})

    world.push()

    [held] = world.at_palmed(claim["id"])
    assert held["status"] == "accepted"
    made = attempts(world.hub_engine, claim["id"])
    assert [(a.outcome, a.http_status) for a in made] == [
        ("unknown", 503),
        ("unknown", 503),
        ("accepted", 201),
    ]
    assert {a.idempotency_key for a in made} == {held["idempotency_key"]}
    assert claim_row(world.hub_engine, claim["id"]).status == "accepted"


def test_two_pipeline_processes_at_once_make_one_claim(world: World) -> None:
    claim = world.close_visit("110587342", "00")
    world.sync()
    # A slow PALMED keeps the first process's call open while the second one runs.
    world.sandbox.set_faults({"kind": "delay", "seconds": 1.5, "method": "POST", "times": 1})

    outputs = world.push(processes=2)

    [held] = world.at_palmed(claim["id"])
    assert held["status"] == "accepted"
    [attempt] = attempts(world.hub_engine, claim["id"])  # nobody called twice
    assert (attempt.outcome, attempt.http_status) == ("accepted", 201)
    assert sum(f"claim {claim['id']}: accepted" in output for output in outputs) == 1, outputs
    world.sync()
    assert world.edge_claim(claim["visit_id"])["status"] == "accepted"


def test_a_rejection_reaches_the_edge_with_its_reasons_and_an_alert(world: World) -> None:
    # Registered offline, the member is unverified on the vehicle; PALMED knows better.
    claim = world.close_visit("110743906", "00")  # suspended since 2025-09-01
    assert claim["status"] == "ready"
    world.sync()

    world.push()
    world.sync()

    [held] = world.at_palmed(claim["id"])
    assert held["status"] == "rejected"
    on_edge = world.edge_claim(claim["visit_id"])
    assert on_edge["status"] == "rejected"
    assert on_edge["rejection_codes"] == ["MEMBER_INACTIVE"]
    assert on_edge["problems"] == [f"MEMBER_INACTIVE: {held['reasons'][0]['message']}"]
    [alert] = world.edge_alerts(claim["id"])
    assert (alert["kind"], alert["priority"], alert["status"]) == ("claim", "high", "active")
    assert "MEMBER_INACTIVE" in alert["detail"]


def test_bad_claim_data_is_held_with_reasons_and_palmed_never_hears_of_it(world: World) -> None:
    before = len(world.sandbox.claims())
    # Drafted on the edge already held: the patient has no medical aid number.
    uninsured = world.close_visit(None, None)
    assert uninsured["status"] == "needs_attention"
    # Complete on the edge, but the hub's checks find a practice number PALMED refuses.
    _set_practice_number(world, "12-34")
    try:
        world.sync()  # the vehicle learns its (wrong) practice number
        malformed = world.close_visit("110698125", "00")
        assert malformed["status"] == "ready"
        world.sync()
        world.push()
        world.sync()
    finally:
        _set_practice_number(world, "0123456")
        world.sync()

    assert len(world.sandbox.claims()) == before
    for claim in (uninsured, malformed):
        assert attempts(world.hub_engine, claim["id"]) == []
        with new_session(world.hub_engine) as session:
            assert session.get(ClaimSubmission, claim["id"]) is None
    held = claim_row(world.hub_engine, malformed["id"])
    assert held.status == "needs_attention"
    assert held.problems == ["No valid practice number (7 digits)"]
    assert claim_row(world.hub_engine, uninsured["id"]).status == "needs_attention"
    on_edge = world.edge_claim(malformed["visit_id"])
    assert (on_edge["status"], on_edge["problems"]) == (held.status, held.problems)
    [alert] = world.edge_alerts(malformed["id"])
    assert (alert["kind"], alert["priority"]) == ("claim", "medium")


def test_a_member_palmed_terminated_is_not_eligible_offline_and_their_claim_is_held(
    world: World,
) -> None:
    patient = world.edge.register(medical_aid_number="110925683", dependant_code="00")
    assert patient["eligibility"]["eligible"] is None  # not in the vehicle's copy yet
    world.sync()
    world.at_hub("POST", "/api/sync/palmed")  # the hub asks PALMED about unverified members
    world.sync()

    with world.offline():
        shown = world.edge.ok("GET", "clerk", f"/api/patients/{patient['id']}")["eligibility"]
        claim = world.close_visit(None, None, patient)
    with new_session(world.hub_engine) as session:
        at_hub = session.get_one(Patient, patient["id"])
        assert at_hub.member_status == "terminated"
    assert (shown["status"], shown["eligible"]) == ("terminated", False)
    assert shown["age_text"] == "verified today"
    assert claim["status"] == "needs_attention"
    assert claim["problems"] == ["The member is not eligible (status: terminated)"]
    world.sync()
    world.push()
    assert world.at_palmed(claim["id"]) == []
    assert claim_row(world.hub_engine, claim["id"]).status == "needs_attention"
    assert attempts(world.hub_engine, claim["id"]) == []


def _set_practice_number(world: World, number: str) -> None:
    with new_session(world.hub_engine) as session, session.begin():
        vehicle = session.get_one(Vehicle, world.edge.vehicle_id)
        vehicle.practice_number = number


def test_a_visit_reopened_after_palmed_accepted_its_claim_is_corrected_not_taken_back(
    world: World,
) -> None:
    """The finding: the vehicle, not yet told that PALMED had accepted the claim, took it
    back at a reopen (its line deleted at the hub) and drafted one the hub refused."""
    claim = world.close_visit("111147809", "00")
    visit = claim["visit_id"]
    world.sync()
    world.push()
    [original] = world.at_palmed(claim["id"])
    assert original["status"] == "accepted"

    # An administrator reopens the visit before the vehicle hears of PALMED's answer.
    reason = {"reason": "lab result came back"}
    reopened = world.edge.ok("POST", "administrator", f"/api/visits/{visit}/reopen", reason)
    assert reopened["claim"] is None  # withdrawn on the vehicle
    closed = world.edge.ok("POST", "social_worker", f"/api/visits/{visit}/advance")
    fixed = closed["claim"]
    assert (fixed["supersedes_id"], fixed["status"]) == (claim["id"], "ready")
    world.sync()

    at_hub = claim_row(world.hub_engine, claim["id"])
    assert (at_hub.status, at_hub.palmed_claim_id) == ("accepted", original["claim_id"])
    kept = table_rows(world.hub_engine, "claim_line", _lines_of([claim["id"]]))
    assert [line["code"] for line in kept] == [line["code"] for line in claim["lines"]] != []
    world.push()
    world.sync()

    [reversed_] = world.at_palmed(claim["id"])
    [correction] = world.at_palmed(fixed["id"])
    assert reversed_["status"] == "reversed"
    assert (correction["status"], correction["replaces"]) == ("accepted", original["claim_id"])
    reversals = world.sandbox.admin("GET", "/reversals?per_page=500")
    assert [r["claim_id"] for r in reversals].count(original["claim_id"]) == 1
    assert [(a.kind, a.outcome) for a in attempts(world.hub_engine, claim["id"])] == [
        ("submission", "accepted"),
        ("reversal", "reversed"),
    ]
    assert [a.outcome for a in attempts(world.hub_engine, fixed["id"])] == ["accepted"]
    shown = world.edge_claim(visit)
    assert (shown["id"], shown["status"]) == (fixed["id"], "accepted")
    ids = [claim["id"], fixed["id"]]
    for name, where in (("claim", Claim.__table__.c.id.in_(ids)), ("claim_line", _lines_of(ids))):
        at_edge = _unversioned(table_rows(world.edge_sync_engine, name, where))
        assert _unversioned(table_rows(world.hub_engine, name, where)) == at_edge, name
    assert len(at_edge) == 2 * len(claim["lines"])  # none lost


def _lines_of(claim_ids: list[str]) -> Any:
    return ClaimLine.__table__.c.claim_id.in_(claim_ids)


def _unversioned(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as replicas agree on them: every value but the row's last-write marker."""
    return [{k: v for k, v in row.items() if k != "version"} for row in rows]
