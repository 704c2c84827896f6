"""Payments: accepted claims are looked up at PALMED until a remittance pays them."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select, update

from common.database import new_session
from hub.claims import outcome, palmed, state
from schema.base import utcnow
from schema.models import Claim, ClaimSubmission

log = logging.getLogger(__name__)


def poll(engine: Engine, client: palmed.PalmedClient, limit: int = 200) -> int:
    """Ask PALMED about accepted claims (longest not asked first); how many were paid."""
    with new_session(engine) as session:
        waiting = session.execute(
            select(Claim.id, Claim.palmed_claim_id)
            .join(ClaimSubmission, ClaimSubmission.claim_id == Claim.id)
            .where(Claim.status == state.ACCEPTED, Claim.palmed_claim_id.is_not(None))
            .order_by(ClaimSubmission.updated_at)
            .limit(limit)
        ).all()
    paid = 0
    for claim_id, palmed_claim_id in waiting:
        try:
            answer = client.claim_status(palmed_claim_id)
        except palmed.PalmedError as error:
            log.warning("status of claim %s unknown: %s", claim_id, error.message)
            continue
        if answer.status == state.ACCEPTED:
            _asked(engine, claim_id)
        elif _record(engine, claim_id, answer):
            paid += 1
    return paid


def _asked(engine: Engine, claim_id: str) -> None:
    """Move the claim to the back of the line, so every accepted claim gets its turn."""
    with new_session(engine) as session, session.begin():
        session.execute(
            update(ClaimSubmission)
            .where(ClaimSubmission.claim_id == claim_id)
            .values(updated_at=utcnow())
        )


def _record(engine: Engine, claim_id: str, answer: palmed.Claim) -> bool:
    """Write the payment unless another process already did."""
    with new_session(engine) as session, session.begin():
        claim = session.get(Claim, claim_id, with_for_update=True, populate_existing=True)
        if claim is None or claim.status != state.ACCEPTED:
            return False
        if claim.palmed_claim_id != answer.claim_id:
            return False
        return outcome.settle(session, claim, answer, utcnow())
