"""Exactly-once submission of claims to PALMED, safe with several hub processes at once.

1. `intake`: claims waiting at the hub are checked; bad ones are held in
   `needs_attention` and never sent; good ones get an idempotency key, committed (with
   the status `submitted`) before any call is made.
2. `take_due`: one submission at a time is leased (`locked_until`) in a short
   transaction that skips rows another process has locked (SELECT ... FOR UPDATE SKIP
   LOCKED), so two processes never work on the same claim while a lease lasts.
3. `submit`: the call, retried with exponential backoff under a ceiling (tenacity) with
   the same key and the same body, every attempt recorded in `claim_attempt`. A lost
   answer is therefore harmless: PALMED returns the claim it made instead of making
   another, even if a lease ran out and another process retried the claim meanwhile.
   When the retries of a run are used up the claim waits for a later run (backoff
   between runs, also under a ceiling).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from common.database import new_session
from hub.claims import check, outcome, palmed, state
from schema.base import new_id, utcnow
from schema.models import Claim, ClaimAttempt, ClaimLine, ClaimSubmission

log = logging.getLogger(__name__)

RESPONSE_LIMIT = 8000


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. The lease must outlast one run's calls and waits:
    attempts x (connect + read timeout) + the waits between them."""

    attempts: int = 4
    wait_initial: float = 1.0
    wait_max: float = 30.0
    later_initial: dt.timedelta = dt.timedelta(minutes=1)
    later_max: dt.timedelta = dt.timedelta(hours=1)
    lease: dt.timedelta = dt.timedelta(minutes=10)

    def retrying(self) -> Retrying:
        """Retry what PALMED may not have acted on; a refusal (4xx) is final."""
        return Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential_jitter(
                multiplier=self.wait_initial, max=self.wait_max, jitter=self.wait_initial
            ),
            retry=retry_if_exception_type((palmed.OutcomeUnknown, palmed.Unreachable)),
            reraise=True,
        )

    def next_run(self, attempts: int, now: dt.datetime) -> dt.datetime:
        """When a claim whose retries ran out is due again: doubling, up to the ceiling."""
        runs = max(attempts // self.attempts, 1)
        return now + min(self.later_initial * 2 ** min(runs - 1, 20), self.later_max)


@dataclass(frozen=True)
class Lease:
    """One process's hold on one claim's submission until `until`."""

    claim_id: str
    key: str
    until: dt.datetime


def intake(engine: Engine, now: dt.datetime, today: dt.date, limit: int = 200) -> tuple[int, int]:
    """Check the claims waiting at the hub: (how many were queued for PALMED, how many
    were held in needs_attention)."""
    queued = held = 0
    with new_session(engine) as session, session.begin():
        waiting = session.scalars(
            select(Claim)
            .where(Claim.status.in_(state.ENTERING))
            .order_by(Claim.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for claim in waiting:
            found = check.problems(claim, claim_lines(session, claim.id), today)
            if found:
                outcome.hold(session, claim, found, now)
                held += 1
            else:
                _commit_key(session, claim, now)
                queued += 1
    return queued, held


def _commit_key(session: Session, claim: Claim, now: dt.datetime) -> None:
    """Give the claim its idempotency key (kept if one may already have reached PALMED)."""
    submission = session.get(ClaimSubmission, claim.id, with_for_update=True)
    if submission is None:
        submission = ClaimSubmission(claim_id=claim.id, created_at=now)
        session.add(submission)
    if submission.state is None or submission.state in state.KEY_SPENT:
        submission.idempotency_key = _new_key()
        submission.attempts = 0
    submission.state = state.PENDING
    submission.next_attempt_at = now
    submission.locked_until = None
    submission.updated_at = now
    claim.status = state.SUBMITTED
    claim.problems = []
    claim.updated_at = now


def _new_key() -> str:
    return str(uuid.uuid4())


def take_due(engine: Engine, now: dt.datetime, policy: RetryPolicy) -> Lease | None:
    """Lease the submission due first that nobody else holds, or None."""
    with new_session(engine) as session, session.begin():
        submission = session.scalar(
            select(ClaimSubmission)
            .join(Claim, Claim.id == ClaimSubmission.claim_id)
            .where(
                Claim.status == state.SUBMITTED,  # a claim held meanwhile is not sent
                ClaimSubmission.state == state.PENDING,
                ClaimSubmission.next_attempt_at <= now,
                or_(ClaimSubmission.locked_until.is_(None), ClaimSubmission.locked_until < now),
            )
            .order_by(ClaimSubmission.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if submission is None:
            return None
        submission.locked_until = now + policy.lease
        return Lease(submission.claim_id, submission.idempotency_key, submission.locked_until)


def submit(
    engine: Engine,
    client: palmed.PalmedClient,
    lease: Lease,
    policy: RetryPolicy,
) -> str:
    """Send one leased claim (retrying within this run) and record what became of it:
    its new status, or `pending` when it must wait for a later run."""
    request = _request(engine, lease.claim_id)
    try:
        answer = policy.retrying()(_attempt, engine, client, request, lease)
    except palmed.RequestRefused as error:
        return _refused(engine, lease, error, utcnow())
    except palmed.PalmedError as error:
        return _postpone(engine, lease, error, policy, utcnow())
    return _settle(engine, lease, answer, utcnow())


def _attempt(
    engine: Engine,
    client: palmed.PalmedClient,
    request: palmed.ClaimRequest,
    lease: Lease,
) -> palmed.Claim:
    try:
        answer = client.submit_claim(request, lease.key)
    except palmed.PalmedError as error:
        _record(engine, lease, _failure(error), error.status, error.message, utcnow())
        raise
    http_status = 200 if answer.replayed else 201
    body = json.dumps(dataclasses.asdict(answer), default=str)
    _record(engine, lease, answer.status, http_status, body, utcnow())
    return answer


def _failure(error: palmed.PalmedError) -> str:
    if isinstance(error, palmed.Unreachable):
        return "unreachable"
    if isinstance(error, palmed.RequestRefused):
        return "refused"
    return "unknown"


def _record(
    engine: Engine,
    lease: Lease,
    result: str,
    http_status: int | None,
    response: str,
    now: dt.datetime,
) -> None:
    """One attempt and its answer, committed at once (an attempt is never lost)."""
    with new_session(engine) as session, session.begin():
        session.add(
            ClaimAttempt(
                id=new_id(),
                claim_id=lease.claim_id,
                idempotency_key=lease.key,
                at=now,
                outcome=result,
                http_status=http_status,
                response=response[:RESPONSE_LIMIT],
            )
        )
        session.execute(
            update(ClaimSubmission)
            .where(ClaimSubmission.claim_id == lease.claim_id)
            .values(attempts=ClaimSubmission.attempts + 1, updated_at=now)
        )


def _settle(engine: Engine, lease: Lease, answer: palmed.Claim, now: dt.datetime) -> str:
    """PALMED's decision is final: write it even if this process's lease ran out."""
    with new_session(engine) as session, session.begin():
        submission, claim = _locked(session, lease)
        if submission.idempotency_key != lease.key:
            return claim.status  # corrected meanwhile: a new key carries the claim now
        rejected = answer.status == state.REJECTED
        submission.state = state.SETTLED_REJECTED if rejected else state.SETTLED_ACCEPTED
        _release(submission, None, now)
        outcome.settle(session, claim, answer, now)
        return claim.status


def _refused(engine: Engine, lease: Lease, error: palmed.RequestRefused, now: dt.datetime) -> str:
    """PALMED stored nothing and would refuse the same request again: hold the claim."""
    with new_session(engine) as session, session.begin():
        submission, claim = _locked(session, lease)
        if submission.idempotency_key != lease.key:
            return claim.status
        submission.state = state.REFUSED
        _release(submission, error.message, now)
        details = f" ({json.dumps(error.details, sort_keys=True)})" if error.details else ""
        reason = f"PALMED refused the claim (HTTP {error.status}): {error.message}{details}"
        outcome.hold(session, claim, [reason], now)
        return claim.status


def _postpone(
    engine: Engine,
    lease: Lease,
    error: palmed.PalmedError,
    policy: RetryPolicy,
    now: dt.datetime,
) -> str:
    """Retries used up for this run: due again later, with the same key."""
    log.warning("claim %s not confirmed by PALMED yet: %s", lease.claim_id, error.message)
    with new_session(engine) as session, session.begin():
        submission, _ = _locked(session, lease)
        if submission.locked_until == lease.until and submission.state == state.PENDING:
            submission.next_attempt_at = policy.next_run(submission.attempts, now)
            _release(submission, error.message, now)
    return state.PENDING


def _locked(session: Session, lease: Lease) -> tuple[ClaimSubmission, Claim]:
    submission = session.get(ClaimSubmission, lease.claim_id, with_for_update=True)
    claim = session.get(Claim, lease.claim_id, with_for_update=True)
    if submission is None or claim is None:
        raise RuntimeError(f"claim {lease.claim_id} vanished while it was being submitted")
    return submission, claim


def _release(submission: ClaimSubmission, error: str | None, now: dt.datetime) -> None:
    submission.locked_until = None
    submission.last_error = error
    submission.updated_at = now


def claim_lines(session: Session, claim_id: str) -> list[ClaimLine]:
    """A claim's lines in a stable order, so every retry sends the same body."""
    query = select(ClaimLine).where(ClaimLine.claim_id == claim_id).order_by(ClaimLine.id)
    return list(session.scalars(query))


def _request(engine: Engine, claim_id: str) -> palmed.ClaimRequest:
    with new_session(engine) as session, session.begin():
        claim = session.get(Claim, claim_id)
        if claim is None:
            raise RuntimeError(f"claim {claim_id} vanished while it was being submitted")
        return palmed.ClaimRequest(
            member_number=claim.member_number or "",
            dependant_code=claim.dependant_code or "",
            practice_number=claim.practice_number or "",
            service_date=claim.service_date,
            icd10_codes=tuple(claim.icd10_codes),
            lines=tuple(
                palmed.ClaimLineRequest(line.kind, line.code, line.quantity, line.amount)
                for line in claim_lines(session, claim_id)
            ),
            reference=claim.id,
        )
