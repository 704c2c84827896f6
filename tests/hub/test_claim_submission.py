"""Exactly-once submission across real processes: the hub's MySQL database, the PALMED
sandbox as its own process, faults injected by the sandbox, racing pipeline runs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select, update

from common.database import new_session, plain_engine
from hub.claims import pipeline, state, submission
from hub.claims.palmed import PalmedClient
from hub.claims.submission import RetryPolicy
from schema.base import utcnow
from schema.models import Alert, ClaimAttempt, ClaimSubmission
from tests.support.claims import attempts, claim_row, soon, synced_claim
from tests.support.palmed import Sandbox

pytestmark = pytest.mark.mysql

FAST = RetryPolicy(attempts=4, wait_initial=0.05, wait_max=0.2)
SUSPENDED = ("110743906", "00")


def run(engine: Engine, sandbox: Sandbox, policy: RetryPolicy = FAST) -> pipeline.Report:
    with sandbox.client(read_timeout=1.5) as client:
        return pipeline.run(engine, client, policy=policy)


def submission_of(engine: Engine, claim_id: str) -> ClaimSubmission:
    with new_session(engine) as session:
        row = session.get(ClaimSubmission, claim_id)
        assert row is not None
        return row


def alerts_of(engine: Engine, vehicle_id: str) -> list[Alert]:
    with new_session(engine) as session:
        return list(session.scalars(select(Alert).where(Alert.vehicle_id == vehicle_id)))


def test_a_good_claim_becomes_exactly_one_accepted_claim_at_palmed(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())

    report = run(hub_engine, palmed_sandbox)

    assert report.as_dict() == {
        "queued": 1,
        "needs_attention": 0,
        "reversed": {},
        "submitted": {"accepted": 1},
        "paid": 0,
    }
    [held] = palmed_sandbox.claims()
    claim = claim_row(hub_engine, claim_id)
    assert (claim.status, claim.palmed_claim_id) == ("accepted", held["claim_id"])
    assert held["reference"] == claim_id
    key = submission_of(hub_engine, claim_id).idempotency_key
    assert held["idempotency_key"] == key
    [attempt] = attempts(hub_engine, claim_id)
    assert (attempt.outcome, attempt.http_status, attempt.idempotency_key) == ("accepted", 201, key)
    assert held["claim_id"] in (attempt.response or "")


def test_a_timeout_after_palmed_accepted_is_retried_with_the_same_key_and_makes_no_second_claim(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    palmed_sandbox.set_faults(
        {"kind": "delay", "when": "after", "seconds": 4, "method": "POST", "times": 1}
    )

    run(hub_engine, palmed_sandbox)

    assert len(palmed_sandbox.claims()) == 1
    first, second = attempts(hub_engine, claim_id)
    assert (first.outcome, first.http_status) == ("unknown", None)
    assert (second.outcome, second.http_status) == ("accepted", 200)  # replayed
    assert first.idempotency_key == second.idempotency_key
    assert claim_row(hub_engine, claim_id).status == "accepted"


def test_5xx_answers_are_retried_until_palmed_answers(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    palmed_sandbox.set_faults({"kind": "error", "status": 503, "method": "POST", "times": 2})

    run(hub_engine, palmed_sandbox)

    outcomes = [(a.outcome, a.http_status) for a in attempts(hub_engine, claim_id)]
    assert outcomes == [("unknown", 503), ("unknown", 503), ("accepted", 201)]
    assert len(palmed_sandbox.claims()) == 1
    assert claim_row(hub_engine, claim_id).status == "accepted"


def test_a_claim_whose_retries_ran_out_waits_and_keeps_its_key(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    # Every answer is lost after PALMED stored the claim.
    palmed_sandbox.set_faults({"kind": "error", "when": "after", "method": "POST"})
    policy = RetryPolicy(attempts=3, wait_initial=0.05, wait_max=0.1)

    report = run(hub_engine, palmed_sandbox, policy)

    assert report.submitted == {"pending": 1}
    waiting = submission_of(hub_engine, claim_id)
    assert waiting.state == state.PENDING and waiting.locked_until is None
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    assert claim_row(hub_engine, claim_id).status == "submitted"
    assert run(hub_engine, palmed_sandbox, policy).submitted == {}  # not due yet

    palmed_sandbox.set_faults()
    with new_session(hub_engine) as session, session.begin():
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.execute(update(ClaimSubmission).values(next_attempt_at=past))
    run(hub_engine, palmed_sandbox, policy)

    assert len(palmed_sandbox.claims()) == 1
    made = attempts(hub_engine, claim_id)
    assert [a.http_status for a in made] == [503, 503, 503, 200]
    assert {a.idempotency_key for a in made} == {waiting.idempotency_key}
    assert claim_row(hub_engine, claim_id).status == "accepted"


def test_two_runs_at_once_submit_each_claim_exactly_once(
    hub_engine: Engine,
    hub_database_url: str,
    hub_vehicle: Callable[..., str],
    palmed_sandbox: Sandbox,
) -> None:
    vehicle = hub_vehicle()
    claim_ids = {
        synced_claim(hub_engine, vehicle, member_number=member, dependant_code=dependant)
        for member, dependant in [
            ("110234561", "00"),
            ("110234561", "01"),
            ("110234561", "02"),
            ("110587342", "00"),
            ("110587342", "01"),
            ("110698125", "00"),
            ("110812470", "00"),
            ("111036257", "00"),
        ]
    }
    # Slow answers keep both runs busy at the same time.
    palmed_sandbox.set_faults({"kind": "delay", "seconds": 0.3, "method": "POST"})
    start, checked = threading.Barrier(2), threading.Barrier(2)
    intakes: list[tuple[int, int]] = []
    reports: list[pipeline.Report] = []

    def worker() -> None:
        engine = plain_engine(hub_database_url)  # a process of its own, as far as MySQL sees
        try:
            start.wait()
            intakes.append(submission.intake(engine, utcnow(), dt.date.today()))
            checked.wait()  # then both submit what is due, at the same time
            reports.append(run(engine, palmed_sandbox))
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(reports) == 2
    assert sum(queued for queued, _ in intakes) == len(claim_ids)
    assert sum(sum(r.submitted.values()) for r in reports) == len(claim_ids)
    assert all(r.submitted for r in reports), "one run did all the work: no race was tested"
    held = palmed_sandbox.claims()
    assert sorted(c["reference"] for c in held) == sorted(claim_ids)
    with new_session(hub_engine) as session:
        calls = session.scalar(select(func.count()).select_from(ClaimAttempt))
    assert calls == len(claim_ids)  # nobody called PALMED for a claim another run held
    assert {claim_row(hub_engine, c).status for c in claim_ids} == {"accepted"}


def test_bad_claim_data_is_held_with_reasons_and_never_sent(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    vehicle = hub_vehicle()
    claim_id = synced_claim(
        hub_engine,
        vehicle,
        member_number=None,
        icd10_codes=["E11", "XYZ"],
        lines=[("tariff", "0190", 1, "520.00"), ("drug", "7010017", 0, "7.00")],
        total_amount=Decimal("600.00"),
    )

    report = run(hub_engine, palmed_sandbox)
    run(hub_engine, palmed_sandbox)

    assert (report.queued, report.held, report.submitted) == (0, 1, {})
    claim = claim_row(hub_engine, claim_id)
    assert claim.status == "needs_attention"
    assert claim.problems == [
        "No valid medical aid member number (1 to 20 letters or digits)",
        "ICD-10 code E11 must be coded to its most specific level",
        "ICD-10 code 'XYZ' is not a valid code",
        "Line 2: kind 'drug' is neither a tariff nor a NAPPI product",
        "Line 2: quantity 0 is not between 1 and 10000",
        "Total 600.00 is not the sum of the lines (527.00)",
    ]
    assert palmed_sandbox.claims() == []
    assert attempts(hub_engine, claim_id) == []
    with new_session(hub_engine) as session:
        assert session.get(ClaimSubmission, claim_id) is None
    [alert] = alerts_of(hub_engine, vehicle)
    assert (alert.kind, alert.priority, alert.resource_id) == ("claim", "medium", claim_id)
    assert "most specific level" in (alert.detail or "")


def test_a_rejection_is_written_on_the_claim_and_alerts_its_vehicle_once(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    vehicle, other_vehicle = hub_vehicle(), hub_vehicle()
    claim_id = synced_claim(hub_engine, vehicle, member_number=SUSPENDED[0])
    synced_claim(hub_engine, other_vehicle, member_number="110587342")

    run(hub_engine, palmed_sandbox)
    run(hub_engine, palmed_sandbox)

    claim = claim_row(hub_engine, claim_id)
    assert claim.status == "rejected"
    assert claim.rejection_codes == ["MEMBER_INACTIVE"]
    assert claim.problems and claim.problems[0].startswith("MEMBER_INACTIVE: ")
    [alert] = alerts_of(hub_engine, vehicle)
    assert (alert.kind, alert.priority, alert.status) == ("claim", "high", "active")
    assert (alert.resource_type, alert.resource_id) == ("claim", claim_id)
    assert "MEMBER_INACTIVE" in (alert.detail or "")
    assert alerts_of(hub_engine, other_vehicle) == []


def test_a_pay_run_at_palmed_marks_accepted_claims_paid_with_the_amount(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    run(hub_engine, palmed_sandbox)
    remittance = palmed_sandbox.admin("POST", "/pay-run", {})

    report = run(hub_engine, palmed_sandbox)

    assert report.paid == 1
    claim = claim_row(hub_engine, claim_id)
    [paid] = remittance["claims"]
    assert claim.status == "paid"
    assert claim.paid_amount == Decimal(paid["amount_paid"])
    assert run(hub_engine, palmed_sandbox).paid == 0


def test_a_claim_changed_under_its_key_is_held_not_sent_again_as_new(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    palmed_sandbox.set_faults({"kind": "error", "when": "after", "method": "POST", "times": 9})
    run(hub_engine, palmed_sandbox, RetryPolicy(attempts=1))
    palmed_sandbox.set_faults()
    with new_session(hub_engine) as session, session.begin():
        claim = claim_row(hub_engine, claim_id)
        claim = session.merge(claim)
        claim.icd10_codes = ["J02.9"]
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.execute(update(ClaimSubmission).values(next_attempt_at=past))

    run(hub_engine, palmed_sandbox)

    claim = claim_row(hub_engine, claim_id)
    assert claim.status == "needs_attention"
    assert "HTTP 422" in claim.problems[0]
    assert len(palmed_sandbox.claims()) == 1
    assert submission_of(hub_engine, claim_id).state == state.REFUSED


def test_a_leased_claim_is_left_alone_and_a_held_one_is_not_sent(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    vehicle = hub_vehicle()
    leased, held = synced_claim(hub_engine, vehicle), synced_claim(hub_engine, vehicle)
    submission.intake(hub_engine, utcnow(), dt.date.today())
    with new_session(hub_engine) as session, session.begin():
        later = utcnow() + dt.timedelta(minutes=5)  # another process holds it
        session.execute(
            update(ClaimSubmission)
            .where(ClaimSubmission.claim_id == leased)
            .values(locked_until=later)
        )
        claim = session.merge(claim_row(hub_engine, held))
        claim.status = "needs_attention"  # e.g. a vehicle's correction arrived meanwhile

    assert run(hub_engine, palmed_sandbox).submitted == {}

    assert palmed_sandbox.claims() == []
    assert attempts(hub_engine, leased) == attempts(hub_engine, held) == []


def test_a_connection_dropped_after_palmed_stored_the_claim_makes_no_second_claim(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    palmed_sandbox.set_faults({"kind": "drop", "when": "after", "method": "POST", "times": 1})

    run(hub_engine, palmed_sandbox)

    assert [(a.outcome, a.http_status) for a in attempts(hub_engine, claim_id)] == [
        ("unknown", None),
        ("accepted", 200),
    ]
    assert len(palmed_sandbox.claims()) == 1


def test_while_palmed_is_down_claims_wait_and_go_once_it_is_back(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    url = palmed_sandbox.url
    palmed_sandbox.stop()
    with PalmedClient(url, palmed_sandbox.api_key, connect_timeout=1) as client:
        report = pipeline.run(hub_engine, client, policy=RetryPolicy(attempts=2, wait_initial=0.05))
    assert report.submitted == {"pending": 1}
    assert [a.outcome for a in attempts(hub_engine, claim_id)] == ["unreachable", "unreachable"]

    palmed_sandbox.start()
    with new_session(hub_engine) as session, session.begin():
        past = utcnow() - dt.timedelta(seconds=1)
        session.execute(update(ClaimSubmission).values(next_attempt_at=past))
    run(hub_engine, palmed_sandbox)

    assert attempts(hub_engine, claim_id)[-1].http_status == 201  # the first to arrive
    assert len(palmed_sandbox.claims()) == 1
    assert claim_row(hub_engine, claim_id).status == "accepted"


def test_a_lease_left_by_a_crashed_process_runs_out_and_the_claim_goes_with_its_key(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    submission.intake(hub_engine, utcnow(), dt.date.today())
    lease = submission.take_due(hub_engine, utcnow(), FAST)
    assert lease is not None and lease.claim_id == claim_id
    assert submission.take_due(hub_engine, utcnow(), FAST) is None  # held
    # The holder dies without a word; once its lease has run out another run takes over.
    after_lease = lease.until + dt.timedelta(seconds=1)
    taken = submission.take_due(hub_engine, after_lease, FAST)

    assert taken is not None and taken.key == lease.key
    with palmed_sandbox.client() as client:
        assert submission.submit(hub_engine, client, taken, FAST) == "accepted"
    assert [c["idempotency_key"] for c in palmed_sandbox.claims()] == [lease.key]


def test_the_service_date_is_judged_by_the_clinic_day_not_the_hosts_clock(
    hub_engine: Engine,
    hub_vehicle: Callable[..., str],
    palmed_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 23:30 UTC is already tomorrow in South Africa, where the visit's date was decided.
    late = dt.datetime.combine(dt.date.today(), dt.time(23, 30), tzinfo=dt.UTC)
    monkeypatch.setattr(pipeline, "utcnow", lambda: late)
    claim_id = synced_claim(
        hub_engine, hub_vehicle(), service_date=dt.date.today() + dt.timedelta(days=1)
    )

    report = run(hub_engine, palmed_sandbox)

    assert (report.queued, report.held) == (1, 0)
    assert claim_row(hub_engine, claim_id).status != "needs_attention"
    assert len(attempts(hub_engine, claim_id)) == 1  # it went to PALMED


def test_a_crashed_workers_lease_is_taken_over_within_seconds(
    hub_engine: Engine, hub_vehicle: Callable[..., str], palmed_sandbox: Sandbox
) -> None:
    claim_id = synced_claim(hub_engine, hub_vehicle())
    submission.intake(hub_engine, utcnow(), dt.date.today())
    short = dataclasses.replace(FAST, lease=dt.timedelta(seconds=1))
    crashed = submission.take_due(hub_engine, utcnow(), short)
    assert crashed is not None and crashed.claim_id == claim_id
    started = time.monotonic()

    taken = soon(5.0, lambda: submission.take_due(hub_engine, utcnow(), short))

    assert 0.5 < time.monotonic() - started < 3.0  # the lease, not minutes
    assert taken.key == crashed.key
    with palmed_sandbox.client() as client:
        assert submission.submit(hub_engine, client, taken, short) == "accepted"
    assert len(palmed_sandbox.claims()) == 1


def test_a_live_worker_that_renews_its_lease_is_never_overtaken(
    hub_engine: Engine,
    hub_database_url: str,
    hub_vehicle: Callable[..., str],
    palmed_sandbox: Sandbox,
) -> None:
    """A run that lasts several leases (slow answers, 5xx, waits between attempts) keeps
    its claim: another process asking all the while never gets it."""
    claim_id = synced_claim(hub_engine, hub_vehicle())
    submission.intake(hub_engine, utcnow(), dt.date.today())
    palmed_sandbox.set_faults(
        {"kind": "delay", "seconds": 0.5, "method": "POST"},
        {"kind": "error", "status": 503, "method": "POST", "times": 3},
    )
    policy = RetryPolicy(attempts=4, wait_initial=0.3, wait_max=0.6, lease=dt.timedelta(seconds=1))
    working = submission.take_due(hub_engine, utcnow(), policy)
    assert working is not None
    overtaken: list[submission.Lease] = []
    done = threading.Event()

    def rival() -> None:
        engine = plain_engine(hub_database_url)
        try:
            while not done.is_set():
                found = submission.take_due(engine, utcnow(), policy)
                if found is not None:
                    overtaken.append(found)
                time.sleep(0.05)
        finally:
            engine.dispose()

    thread = threading.Thread(target=rival)
    thread.start()
    started = time.monotonic()
    try:
        with palmed_sandbox.client(read_timeout=0.9) as client:
            status = submission.submit(hub_engine, client, working, policy)
    finally:
        done.set()
        thread.join(timeout=10)

    assert time.monotonic() - started > 2 * policy.lease.total_seconds()  # outlived leases
    assert (status, overtaken) == ("accepted", [])
    assert [a.http_status for a in attempts(hub_engine, claim_id)] == [503, 503, 503, 201]
    assert len(palmed_sandbox.claims()) == 1
