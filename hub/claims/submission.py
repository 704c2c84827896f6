"""Exactly-once submission of claims to PALMED, safe with several hub processes at once.

1. `intake`: claims waiting at the hub are checked; bad ones are held in
   `needs_attention` and never sent; good ones get an idempotency key, committed (with
   the status `submitted`) before any call is made. A correction waits until the claim
   it supersedes no longer stands at PALMED (`hub.claims.correction`).
2. `take_due`: one submission at a time is leased, briefly and renewed while it is
   worked on (`hub.claims.lease`), so two processes never work on the same claim while
   a lease holds and a crashed one's claim goes on within seconds.
3. `submit`: the call, retried with exponential backoff under a ceiling with the same
   key and the same body, every attempt recorded in `claim_attempt`. A lost answer is
   therefore harmless: PALMED returns the claim it made instead of making another, even
   if a lease ran out and another process retried the claim meanwhile. When the retries
   of a run are used up the claim waits for a later run (backoff between runs, also
   under a ceiling).
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine, exists, select
from sqlalchemy.orm import Session, aliased

from common.database import new_session
from hub.claims import check, correction, lease, outcome, palmed, reversal, state
from hub.claims.lease import Hold, Lease, LeaseLost, RetryPolicy
from schema.models import Claim, ClaimLine, ClaimSubmission

__all__ = ["Lease", "RetryPolicy", "intake", "submit", "take_due"]

log = logging.getLogger(__name__)
KIND = "submission"


def intake(engine: Engine, now: dt.datetime, today: dt.date, limit: int = 200) -> tuple[int, int]:
    """Check the claims waiting at the hub: (how many were queued for PALMED, how many
    were held in needs_attention). A claim a later one supersedes is never taken: its
    correction decides what becomes of it."""
    queued = held = 0
    newer = aliased(Claim)
    with new_session(engine) as session, session.begin():
        waiting = session.scalars(
            select(Claim)
            .where(
                Claim.status.in_(state.ENTERING),
                ~exists().where(newer.supersedes_id == Claim.id),
            )
            .order_by(Claim.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for claim in waiting:
            step = _correction(session, claim, now)
            held += step is correction.Step.HOLD
            if step not in correction.GOING:
                continue
            found = check.problems(claim, claim_lines(session, claim.id), today)
            if found:
                outcome.hold(session, claim, found, now)
                held += 1
            else:
                _commit_key(session, claim, now)
                queued += 1
    return queued, held


def _correction(session: Session, claim: Claim, now: dt.datetime) -> correction.Step:
    """What a claim waits for before it may be checked for PALMED: nothing, unless it is
    a correction; then the claim it supersedes must stand no more (withdrawn here if it
    was never sent, reversed first if PALMED accepted it)."""
    if claim.supersedes_id is None:
        return correction.Step.GO
    superseded = session.scalar(
        select(Claim).where(Claim.id == claim.supersedes_id).with_for_update(skip_locked=True)
    )
    if superseded is None and session.get(Claim, claim.supersedes_id) is not None:
        return correction.Step.WAIT  # another process is deciding about it: next run
    decision = correction.decide(correction.facts(session, claim, superseded))
    if decision.step is correction.Step.HOLD:
        outcome.hold(session, claim, [decision.reason], now)
    elif decision.step is correction.Step.REVERSE and superseded is not None:
        reversal.plan(session, superseded, claim, now)
    elif decision.step is correction.Step.WITHDRAW and superseded is not None:
        correction.withdraw(superseded, claim, now)
    return decision.step


def _commit_key(session: Session, claim: Claim, now: dt.datetime) -> None:
    """Give the claim its idempotency key (kept if one may already have reached PALMED)."""
    lease.commit(session, ClaimSubmission, claim.id, now)
    claim.status = state.SUBMITTED
    claim.problems = []
    claim.updated_at = now


def take_due(engine: Engine, now: dt.datetime, policy: RetryPolicy) -> Lease | None:
    """Lease the submission due first that nobody else holds, or None."""
    return lease.take(engine, ClaimSubmission, state.SUBMITTED, now, policy)


def submit(
    engine: Engine,
    client: palmed.PalmedClient,
    taken: Lease,
    policy: RetryPolicy,
) -> str:
    """Send one leased claim (retrying within this run) and record what became of it:
    its new status, `pending` when it must wait for a later run, or `lost` when another
    process took the claim over."""
    hold = Hold(engine, ClaimSubmission, taken, policy)
    request = _request(engine, taken.claim_id)
    try:
        answer = lease.carry(hold, KIND, policy, lambda key: client.submit_claim(request, key))
    except LeaseLost as lost:
        log.warning("%s", lost)
        return state.LOST
    except palmed.RequestRefused as error:
        return _refused(hold, error)
    except palmed.PalmedError as error:
        log.warning("claim %s not confirmed by PALMED yet: %s", taken.claim_id, error.message)
        return lease.postpone(hold, error, policy)
    return _settle(hold, answer)


def _settle(hold: Hold[ClaimSubmission], answer: palmed.Claim) -> str:
    """PALMED's decision: accepted or rejected."""

    def write(session: Session, row: ClaimSubmission, claim: Claim, now: dt.datetime) -> str:
        rejected = answer.status == state.REJECTED
        row.state = state.SETTLED_REJECTED if rejected else state.SETTLED_ACCEPTED
        lease.release(row, None, now)
        outcome.settle(session, claim, answer, now)
        return claim.status

    return hold.decide(write)


def _refused(hold: Hold[ClaimSubmission], error: palmed.RequestRefused) -> str:
    """PALMED stored nothing and would refuse the same request again: hold the claim."""

    def write(session: Session, row: ClaimSubmission, claim: Claim, now: dt.datetime) -> str:
        row.state = state.REFUSED
        lease.release(row, error.message, now)
        outcome.hold(session, claim, [lease.refusal("the claim", error)], now)
        return claim.status

    return hold.decide(write)


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
            replaces=correction.replaces(session, claim),
        )
