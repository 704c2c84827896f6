"""Exactly-once reversal at PALMED of a claim a correction replaces (`hub.claims.correction`).

1. `plan` (at intake, when a correction supersedes a claim PALMED accepted or paid):
   the reversal's idempotency key is committed with the claim's status `reversing`,
   before any call.
2. `take_due` / `reverse`: leased and called like a submission (`hub.claims.lease`),
   retried with backoff under the same key, every attempt recorded in `claim_attempt`
   (kind `reversal`). PALMED's answer makes the claim `reversed`, and the correction
   goes at the next intake, naming it.
3. A refusal (4xx) that does not leave the claim reversed at PALMED puts the claim back
   as PALMED holds it and holds the correction for attention with PALMED's reason;
   finance's resubmission of the correction asks for the reversal again, with a new key.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from common.database import new_session
from hub.claims import lease, outcome, palmed, state
from hub.claims.lease import Hold, Lease, LeaseLost, RetryPolicy
from schema.models import Claim, ClaimReversal

log = logging.getLogger(__name__)
KIND = "reversal"


def plan(session: Session, claim: Claim, correction: Claim, now: dt.datetime) -> None:
    """Commit the reversal of `claim` (with its key) for `correction`, in the caller's
    transaction; the claim is `reversing` from now until PALMED answers."""
    row = lease.commit(session, ClaimReversal, claim.id, now)
    row.corrected_by_id = correction.id
    claim.status = state.REVERSING
    claim.updated_at = now


def take_due(engine: Engine, now: dt.datetime, policy: RetryPolicy) -> Lease | None:
    """Lease the reversal due first that nobody else holds, or None."""
    return lease.take(engine, ClaimReversal, state.REVERSING, now, policy)


def reverse(engine: Engine, client: palmed.PalmedClient, taken: Lease, policy: RetryPolicy) -> str:
    """Reverse one leased claim (retrying within this run) and record what became of it:
    `reversed`, `pending` when it must wait for a later run, `refused`, or `lost`."""
    hold = Hold(engine, ClaimReversal, taken, policy)
    palmed_id, reason = _what(engine, taken.claim_id)
    try:
        answer = lease.carry(
            hold, KIND, policy, lambda key: client.reverse_claim(palmed_id, key, reason)
        )
    except LeaseLost as lost:
        log.warning("%s", lost)
        return state.LOST
    except palmed.RequestRefused as error:
        return _refused(hold, client, palmed_id, error)
    except palmed.PalmedError as error:
        log.warning("reversal of %s not confirmed by PALMED yet: %s", palmed_id, error.message)
        return lease.postpone(hold, error, policy)
    return _settle(hold, answer)


def _what(engine: Engine, claim_id: str) -> tuple[str, str]:
    """PALMED's id of the claim and why it is reversed: the same on every retry."""
    with new_session(engine) as session:
        row = session.get(ClaimReversal, claim_id)
        claim = session.get(Claim, claim_id)
        if row is None or claim is None:
            raise RuntimeError(f"claim {claim_id} vanished while it was being reversed")
        return claim.palmed_claim_id or "", f"Replaced by corrected claim {row.corrected_by_id}"


def _settle(hold: Hold[ClaimReversal], answer: palmed.Claim) -> str:
    """PALMED reversed the claim."""

    def write(session: Session, row: ClaimReversal, claim: Claim, now: dt.datetime) -> str:
        row.state = state.SETTLED_REVERSED
        row.palmed_reversal_id = answer.reversal.reversal_id if answer.reversal else None
        lease.release(row, None, now)
        outcome.reversal(session, claim, answer, now)
        return claim.status

    return hold.decide(write)


def _refused(
    hold: Hold[ClaimReversal],
    client: palmed.PalmedClient,
    palmed_id: str,
    error: palmed.RequestRefused,
) -> str:
    """PALMED would not reverse the claim. If it holds it reversed anyway (reversed
    before, under another key), that is the outcome; otherwise the claim is back as
    PALMED holds it and its correction is held with the reason."""
    try:
        found = client.claim_status(palmed_id)
    except palmed.PalmedError:
        found = None
    if found is not None and found.status == state.REVERSED:
        return _settle(hold, found)

    def write(session: Session, row: ClaimReversal, claim: Claim, now: dt.datetime) -> str:
        row.state = state.REFUSED
        lease.release(row, error.message, now)
        claim.status = state.PAID if claim.paid_amount is not None else state.ACCEPTED
        claim.updated_at = now
        corrected = session.get(Claim, row.corrected_by_id, with_for_update=True)
        if corrected is not None:
            what = f"to reverse claim {palmed_id}, which this one corrects"
            outcome.hold(session, corrected, [lease.refusal(what, error)], now)
        return state.REFUSED

    return hold.decide(write)
