"""Every fault kind as the hub's client meets it, and the retry that makes it harmless:
the same idempotency key always ends with exactly one claim at the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.claims.palmed import NotFound, OutcomeUnknown, PalmedClient, Unreachable
from tests.palmed.conftest import ACTIVE
from tests.support.palmed import Sandbox, claim_request

CLAIM = claim_request(*ACTIVE)
ON_SUBMIT = {"method": "POST", "path": "/v1/claims", "times": 1}


def submit_and_lose_the_answer(sandbox: Sandbox, key: str) -> OutcomeUnknown:
    """Submit with a read timeout far below the faults' 30 s delays, yet long enough that
    a claim processed before a delay is committed before the client gives up."""
    with sandbox.client(read_timeout=5.0) as client, pytest.raises(OutcomeUnknown) as lost:
        client.submit_claim(CLAIM, key)
    return lost.value


def retry(sandbox: Sandbox, key: str) -> Any:
    with sandbox.client() as client:
        return client.submit_claim(CLAIM, key)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "delay", "when": "after", "seconds": 30},  # accepted, then a timeout
        {"kind": "drop", "when": "after"},  # accepted, then the connection dropped
        {"kind": "error", "when": "after", "status": 502},  # accepted, then a 5xx
    ],
    ids=["timeout", "drop", "5xx"],
)
def test_a_claim_accepted_before_the_answer_was_lost_is_found_by_the_retry(
    sandbox: Sandbox, fault: dict[str, Any]
) -> None:
    sandbox.set_faults({**fault, **ON_SUBMIT})
    submit_and_lose_the_answer(sandbox, "key-lost-answer1")
    [stored] = sandbox.claims()
    assert stored["status"] == "accepted"
    again = retry(sandbox, "key-lost-answer1")
    assert (again.claim_id, again.status, again.replayed) == (stored["claim_id"], "accepted", True)
    assert len(sandbox.claims()) == 1


def test_a_5xx_carries_its_status(sandbox: Sandbox) -> None:
    sandbox.set_faults({"kind": "error", "when": "after", "status": 500, **ON_SUBMIT})
    assert submit_and_lose_the_answer(sandbox, "key-five-hundred").status == 500


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "drop", "when": "before"},
        {"kind": "error", "when": "before"},
    ],
    ids=["drop", "5xx"],
)
def test_a_request_lost_before_processing_stores_nothing_until_the_retry(
    sandbox: Sandbox, fault: dict[str, Any]
) -> None:
    sandbox.set_faults({**fault, **ON_SUBMIT})
    submit_and_lose_the_answer(sandbox, "key-never-arrived")
    with sandbox.client() as client, pytest.raises(NotFound):
        client.claim_by_key("key-never-arrived")
    assert sandbox.claims() == []
    made = retry(sandbox, "key-never-arrived")
    assert (made.status, made.replayed) == ("accepted", False)
    assert len(sandbox.claims()) == 1


def test_a_timeout_before_processing_then_a_retry_makes_one_claim(sandbox: Sandbox) -> None:
    sandbox.set_faults({"kind": "delay", "when": "before", "seconds": 30, **ON_SUBMIT})
    submit_and_lose_the_answer(sandbox, "key-slow-arrival")
    made = retry(sandbox, "key-slow-arrival")
    assert made.status == "accepted"
    assert [stored["claim_id"] for stored in sandbox.claims()] == [made.claim_id]


def test_a_slow_answer_within_the_timeout_is_just_slow(
    sandbox: Sandbox, client: PalmedClient
) -> None:
    sandbox.set_faults({"kind": "delay", "seconds": 0.3})
    assert client.member(*ACTIVE).eligible is True
    assert sandbox.admin("GET", "/faults")["rules"][0]["fired"] == 1


def test_every_nth_request_fails(sandbox: Sandbox, client: PalmedClient) -> None:
    sandbox.set_faults({"kind": "error", "every": 3, "status": 503})
    outcomes = [outcome(lambda: client.member(*ACTIVE)) for _ in range(6)]
    assert outcomes == ["ok", "ok", 503, "ok", "ok", 503]
    rule = sandbox.admin("GET", "/faults")["rules"][0]
    assert (rule["seen"], rule["fired"]) == (6, 2)


def test_a_seeded_rate_repeats_its_pattern(sandbox: Sandbox, client: PalmedClient) -> None:
    def pattern() -> list[Any]:
        sandbox.set_faults({"kind": "error", "rate": 0.5}, seed=2024)
        return [outcome(lambda: client.member_changes(limit=1)) for _ in range(16)]

    first = pattern()
    assert first == pattern()
    assert {"ok", 503} == set(first)


def test_faults_never_touch_sandbox_control_or_health(sandbox: Sandbox) -> None:
    sandbox.set_faults({"kind": "error"}, {"kind": "drop", "path": "/v1/claims"})
    assert sandbox.request("GET", "/health").status_code == 200
    assert len(sandbox.admin("GET", "/faults")["rules"]) == 2
    assert sandbox.request("GET", f"/v1/members/{ACTIVE[0]}/{ACTIVE[1]}").status_code == 503
    sandbox.admin("DELETE", "/faults")
    assert sandbox.request("GET", f"/v1/members/{ACTIVE[0]}/{ACTIVE[1]}").status_code == 200


def test_faults_can_be_set_at_start_up(tmp_path: Path, roster: Path) -> None:
    plan = tmp_path / "faults.json"
    plan.write_text(json.dumps({"rules": [{"kind": "error", "path": "/v1/member-changes"}]}))
    sandbox = Sandbox(
        tmp_path / "faulty.db",
        tmp_path / "faulty.log",
        args=("--roster", str(roster), "--faults", str(plan)),
    )
    sandbox.start()
    try:
        with sandbox.client() as client:
            assert outcome(client.member_changes) == 503
            assert client.member(*ACTIVE).eligible is True
    finally:
        sandbox.stop()


def test_a_stopped_sandbox_is_unreachable_and_gets_nothing(sandbox: Sandbox) -> None:
    client = sandbox.client()
    sandbox.stop()
    with client, pytest.raises(Unreachable):
        client.submit_claim(CLAIM, "key-while-stopped")
    sandbox.start()
    assert sandbox.claims() == []


def outcome(call: Any) -> Any:
    """'ok', or the HTTP status of the unknown outcome the call raised."""
    try:
        call()
    except OutcomeUnknown as error:
        return error.status
    return "ok"
