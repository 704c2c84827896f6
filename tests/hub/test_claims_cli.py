"""`clinic-hub push-claims` and `scheduler` as real processes: two at once submit each
claim once; the scheduler runs the PALMED jobs with the hub's others."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import time
from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from common.database import new_session
from hub.claims import submission
from schema.base import utcnow
from schema.models import MemberFeed, Patient
from tests.support.claims import claim_row, clinic_hub, hub_env, push_claims, synced_claim
from tests.support.palmed import Sandbox

pytestmark = pytest.mark.mysql

MEMBERS = [("110234561", "00"), ("110234561", "01"), ("110587342", "00"), ("110698125", "00")]
PROGRESS = re.compile(r"claim (\S+): (\w+)")


def test_two_push_claims_processes_submit_each_claim_exactly_once(
    hub_engine: Engine,
    hub_database_url: str,
    hub_vehicle: Callable[..., str],
    palmed_sandbox: Sandbox,
) -> None:
    vehicle = hub_vehicle()
    claims = {
        synced_claim(hub_engine, vehicle, member_number=m, dependant_code=d) for m, d in MEMBERS
    }
    assert submission.intake(hub_engine, utcnow(), dt.date.today()) == (len(claims), 0)
    palmed_sandbox.set_faults({"kind": "delay", "seconds": 0.5, "method": "POST"})

    processes = [push_claims(hub_database_url, palmed_sandbox) for _ in range(2)]
    outputs = [process.communicate(timeout=120)[0] for process in processes]

    assert [process.returncode for process in processes] == [0, 0], outputs
    done = [dict(PROGRESS.findall(output)) for output in outputs]
    assert all(done), f"one process did all the work, no race was tested: {outputs}"
    assert not set(done[0]) & set(done[1])
    assert set(done[0]) | set(done[1]) == claims
    assert set(done[0].values()) | set(done[1].values()) == {"accepted"}
    assert sorted(c["reference"] for c in palmed_sandbox.claims()) == sorted(claims)
    assert "submitted: " in outputs[0] and "Queued 0" in outputs[0]


def test_push_claims_refuses_to_run_without_palmed_settings(
    hub_engine: Engine, hub_database_url: str, palmed_sandbox: Sandbox
) -> None:
    process = push_claims(hub_database_url, palmed_sandbox, PALMED_API_KEY="")
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert "PALMED is not configured on this hub: PALMED_API_KEY is not set" in output


@pytest.fixture
def claim_id(hub_engine: Engine, hub_vehicle: Callable[..., str]) -> str:
    """A claim synced from a vehicle, waiting at the hub."""
    return synced_claim(hub_engine, hub_vehicle())


def test_the_scheduler_sends_a_queued_claim_and_learns_the_member_statuses(
    hub_engine: Engine, hub_database_url: str, palmed_sandbox: Sandbox, claim_id: str
) -> None:
    process = subprocess.Popen(
        clinic_hub("scheduler"),
        env=hub_env(hub_database_url, palmed_sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _done(hub_engine, claim_id):
            time.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert _done(hub_engine, claim_id), output


def test_the_scheduler_once_runs_the_palmed_jobs_with_the_others(
    hub_engine: Engine, hub_database_url: str, palmed_sandbox: Sandbox, claim_id: str
) -> None:
    environment = hub_env(hub_database_url, palmed_sandbox)
    command = clinic_hub("scheduler", "--once")
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names = [line.split(":")[0] for line in done.stdout.splitlines()]
    assert names == ["alerts", "stock", "claims", "members"], done.stdout
    assert _done(hub_engine, claim_id), done.stdout


def _done(engine: Engine, claim_id: str) -> bool:
    """The claim was accepted, the feed followed and the patient's membership verified."""
    claim = claim_row(engine, claim_id)
    with new_session(engine) as session:
        feed = session.get(MemberFeed, "palmed")
        patient = session.get(Patient, claim.patient_id)
    assert patient is not None
    return claim.status == "accepted" and feed is not None and patient.member_status == "active"
