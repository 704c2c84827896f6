"""Corrections at the hub: a vehicle's claim that supersedes another goes to PALMED only
once the other no longer stands there. A claim PALMED accepted (or paid) is reversed
first, exactly once; a rejected or never-sent one needs no reversal; a withdrawn claim
is never sent. The decision table first, then the pipeline against the real sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, update

from common.database import new_session
from hub.claims import correction, reversal, state, submission
from hub.claims.correction import Facts, Step
from hub.claims.lease import RetryPolicy
from schema.models import Claim, ClaimReversal, ClaimSubmission
from tests.hub.test_claim_submission import FAST, run
from tests.support.claims import attempts, claim_row, soon, synced_claim
from tests.support.claims import correction as correct
from tests.support.palmed import Sandbox

pytestmark = pytest.mark.mysql
NAPPI_UNKNOWN = (("tariff", "0190", 1, "520.00"), ("nappi", "7999999", 1, "7.00"))
STEPS = {
    "draft": Step.WITHDRAW,
    "ready": Step.WITHDRAW,
    "queued": Step.WITHDRAW,
    "needs_attention": Step.WITHDRAW,
    "withdrawn": Step.WITHDRAW,
    "submitted": Step.WAIT,
    "reversing": Step.WAIT,
    "accepted": Step.REVERSE,
    "paid": Step.REVERSE,
    "rejected": Step.GO,
    "reversed": Step.GO,
}


def test_every_claim_status_has_its_step() -> None:
    assert set(STEPS) == set(state.ALL)


@pytest.mark.parametrize(("status", "step"), sorted(STEPS.items()))
def test_what_a_correction_does_for_each_status_of_the_claim_it_supersedes(
    status: str, step: Step
) -> None:
    assert correction.decide(Facts(status, True, False)).step is step


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (Facts(None, False, False), "does not hold"),
        (Facts("accepted", False, False), "another visit"),
        (Facts("accepted", True, True), "corrected by another claim"),
        (Facts("archived", True, False), "is archived"),
    ],
)
def test_a_correction_that_cannot_stand_is_held(facts: Facts, reason: str) -> None:
    decision = correction.decide(facts)
    assert decision.step is Step.HOLD and reason in decision.reason


def test_an_accepted_claim_is_reversed_once_then_its_correction_replaces_it(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    fixed = correct(hub_engine, original)  # the laptop's withdrawal was refused: sent

    report = run(hub_engine, palmed_sandbox)

    assert (report.reversed, report.submitted) == ({"reversed": 1}, {"accepted": 1})
    before, after = claim_row(hub_engine, original), claim_row(hub_engine, fixed)
    assert (before.status, after.status) == ("reversed", "accepted")
    held = at_palmed(palmed_sandbox)
    assert set(held) == {original, fixed}
    assert held[original]["status"] == "reversed"
    assert held[fixed]["replaces"] == held[original]["claim_id"]
    [reversal] = palmed_sandbox.admin("GET", "/reversals")
    with new_session(hub_engine) as session:
        row = session.get_one(ClaimReversal, original)
        assert (row.state, row.corrected_by_id) == ("reversed", fixed)
        assert row.palmed_reversal_id == reversal["reversal_id"]
    assert reversal["idempotency_key"] == row.idempotency_key
    kinds = [(a.kind, a.outcome, a.http_status) for a in attempts(hub_engine, original)]
    assert kinds == [("submission", "accepted", 201), ("reversal", "reversed", 201)]
    assert run(hub_engine, palmed_sandbox).as_dict()["reversed"] == {}  # done once
    assert len(palmed_sandbox.admin("GET", "/reversals")) == 1


def test_a_reversal_whose_answer_is_lost_is_retried_with_its_key(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    fixed = correct(hub_engine, original)
    palmed_sandbox.set_faults(
        {"kind": "error", "when": "after", "path": "/v1/claims/", "method": "POST", "times": 1}
    )

    run(hub_engine, palmed_sandbox)

    reversal_calls = [a for a in attempts(hub_engine, original) if a.kind == "reversal"]
    assert [(a.outcome, a.http_status) for a in reversal_calls] == [
        ("unknown", 503),
        ("reversed", 200),  # replayed, not reversed twice
    ]
    assert len({a.idempotency_key for a in reversal_calls}) == 1
    assert len(palmed_sandbox.admin("GET", "/reversals")) == 1
    assert claim_row(hub_engine, fixed).status == "accepted"


def test_a_rejected_claim_needs_no_reversal_and_its_correction_names_it(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle(), lines=NAPPI_UNKNOWN)
    run(hub_engine, palmed_sandbox)
    assert claim_row(hub_engine, original).status == "rejected"
    fixed = correct(hub_engine, original)

    report = run(hub_engine, palmed_sandbox)

    assert (report.reversed, report.submitted) == ({}, {"accepted": 1})
    held = at_palmed(palmed_sandbox)
    assert held[fixed]["replaces"] == held[original]["claim_id"]
    assert palmed_sandbox.admin("GET", "/reversals") == []
    assert claim_row(hub_engine, original).status == "rejected"


@pytest.mark.parametrize("withdrawn", [True, False])
def test_a_claim_never_sent_is_withdrawn_and_only_its_correction_goes(
    hub_engine: Engine,
    hub_vehicle: Callable[..., str],
    palmed_sandbox: Sandbox,
    withdrawn: bool,
) -> None:
    original = synced_claim(hub_engine, hub_vehicle(), status="ready")
    fixed = correct(hub_engine, original, withdrawn=withdrawn)

    report = run(hub_engine, palmed_sandbox)

    assert (report.reversed, report.submitted) == ({}, {"accepted": 1})
    [sent] = palmed_sandbox.claims()
    assert (sent["reference"], sent["replaces"]) == (fixed, None)
    assert claim_row(hub_engine, original).status == "withdrawn"
    assert attempts(hub_engine, original) == []


def test_a_withdrawn_claim_is_never_sent(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    withdrawn = synced_claim(hub_engine, hub_vehicle(), status="withdrawn")

    report = run(hub_engine, palmed_sandbox)

    assert (report.queued, report.submitted) == (0, {})
    assert palmed_sandbox.claims() == []
    assert claim_row(hub_engine, withdrawn).status == "withdrawn"


def test_a_correction_waits_for_its_claims_answer_then_reverses_it(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle())
    palmed_sandbox.set_faults({"kind": "error", "when": "after", "method": "POST"})
    run(hub_engine, palmed_sandbox, RetryPolicy(attempts=1))
    assert claim_row(hub_engine, original).status == "submitted"  # PALMED's answer lost
    fixed = correct(hub_engine, original)

    run(hub_engine, palmed_sandbox, RetryPolicy(attempts=1))
    assert claim_row(hub_engine, fixed).status == "ready"  # waits

    palmed_sandbox.set_faults()
    with new_session(hub_engine) as session, session.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.execute(update(ClaimSubmission).values(next_attempt_at=past))
    run(hub_engine, palmed_sandbox)  # the answer at last: accepted
    report = run(hub_engine, palmed_sandbox)  # then reversed, and the correction goes

    assert report.reversed == {"reversed": 1}
    assert claim_row(hub_engine, original).status == "reversed"
    assert claim_row(hub_engine, fixed).status == "accepted"
    assert len(palmed_sandbox.claims()) == 2


def test_a_paid_claim_is_reversed_and_palmed_recovers_the_payment(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    palmed_sandbox.admin("POST", "/pay-run")
    run(hub_engine, palmed_sandbox)
    assert claim_row(hub_engine, original).status == "paid"
    fixed = correct(hub_engine, original)

    run(hub_engine, palmed_sandbox)
    recovery = palmed_sandbox.admin("POST", "/pay-run")

    before = claim_row(hub_engine, original)
    assert (before.status, before.paid_amount) == ("reversed", Decimal("527.00"))
    amounts = {line["claim_id"]: line["amount_paid"] for line in recovery["claims"]}
    held = at_palmed(palmed_sandbox)
    assert amounts == {held[original]["claim_id"]: "-527.00", held[fixed]["claim_id"]: "527.00"}
    assert claim_row(hub_engine, fixed).status == "accepted"


def test_a_refused_reversal_holds_the_correction_and_leaves_the_claim_as_palmed_has_it(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    with new_session(hub_engine) as session, session.begin():  # a claim PALMED never made
        session.get_one(Claim, original).palmed_claim_id = "PLM0000000000"
    fixed = correct(hub_engine, original)

    report = run(hub_engine, palmed_sandbox)

    assert (report.reversed, report.submitted) == ({"refused": 1}, {})
    assert claim_row(hub_engine, original).status == "accepted"
    held = claim_row(hub_engine, fixed)
    assert held.status == "needs_attention"
    assert "PALMED refused to reverse claim PLM0000000000" in held.problems[0]
    assert palmed_sandbox.admin("GET", "/reversals") == []


def test_a_correction_of_another_visits_claim_is_held_and_reverses_nothing(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    vehicle = hub_vehicle()
    other = synced_claim(hub_engine, vehicle, member_number="110587342")
    mine = synced_claim(hub_engine, vehicle)
    run(hub_engine, palmed_sandbox)
    fixed = correct(hub_engine, mine)
    with new_session(hub_engine) as session, session.begin():
        session.get_one(Claim, fixed).supersedes_id = other  # a forged chain

    run(hub_engine, palmed_sandbox)

    held = claim_row(hub_engine, fixed)
    assert (held.status, held.problems) == (
        "needs_attention",
        ["It corrects a claim of another visit"],
    )
    assert claim_row(hub_engine, other).status == "accepted"
    assert palmed_sandbox.admin("GET", "/reversals") == []


def test_a_lease_left_by_a_crashed_reversal_runs_out_in_seconds(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    original = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    correct(hub_engine, original)
    submission.intake(hub_engine, dt.datetime.now(dt.UTC), dt.date.today())
    short = RetryPolicy(attempts=2, wait_initial=0.05, lease=dt.timedelta(seconds=1))
    crashed = reversal.take_due(hub_engine, dt.datetime.now(dt.UTC), short)
    assert crashed is not None
    assert reversal.take_due(hub_engine, dt.datetime.now(dt.UTC), short) is None

    taken = soon(3.0, lambda: reversal.take_due(hub_engine, dt.datetime.now(dt.UTC), short))

    assert taken.key == crashed.key
    with palmed_sandbox.client() as client:
        assert reversal.reverse(hub_engine, client, taken, FAST) == "reversed"


def at_palmed(sandbox: Sandbox) -> dict[str, dict[str, object]]:
    """The sandbox's claims by our claim id (their `reference`)."""
    return {held["reference"]: held for held in sandbox.claims()}


def test_a_correction_whose_claim_another_process_holds_waits_without_blocking(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    """Intake never waits on a lock another process holds on the superseded claim (as a
    reversal's refusal does while it holds the correction back): no deadlock, next run."""
    original = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    fixed = correct(hub_engine, original)
    with hub_engine.connect() as other, other.begin():
        other.execute(select(Claim.id).where(Claim.id == original).with_for_update())

        assert submission.intake(hub_engine, dt.datetime.now(dt.UTC), dt.date.today()) == (0, 0)

    assert claim_row(hub_engine, fixed).status == "ready"
    assert claim_row(hub_engine, original).status == "accepted"
    run(hub_engine, palmed_sandbox)
    assert claim_row(hub_engine, fixed).status == "accepted"
