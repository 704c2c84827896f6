"""What becomes of a claim, written onto its row and told to its vehicle.

The claim and the alert are both shared rows scoped to the claim's vehicle, so whatever
is written here reaches that vehicle on its next sync: the crew sees the status, the
reasons and an alert without anyone sending anything.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.claims import palmed, state
from schema.models import Alert, Claim

ALERT_KIND = "claim"


def hold(session: Session, claim: Claim, problems: list[str], now: dt.datetime) -> None:
    """Hold a claim that cannot be sent as it is, with every reason, and say so."""
    claim.status = state.NEEDS_ATTENTION
    claim.problems = problems
    claim.updated_at = now
    _alert(
        session,
        claim,
        "attention",
        "medium",
        f"Claim for the visit of {claim.service_date.isoformat()} needs attention",
        "; ".join(problems),
        now,
    )


def settle(session: Session, claim: Claim, answer: palmed.Claim, now: dt.datetime) -> bool:
    """Write PALMED's decision (and payment) onto the claim; False if it was known."""
    reasons = [reason.code for reason in answer.reasons]
    paid = answer.remittance.amount_paid if answer.remittance else None
    known = (claim.status, claim.palmed_claim_id, claim.rejection_codes, claim.paid_amount)
    if known == (answer.status, answer.claim_id, reasons, paid):
        return False
    claim.status = answer.status
    claim.palmed_claim_id = answer.claim_id
    claim.rejection_codes = reasons
    claim.problems = [f"{reason.code}: {reason.message}" for reason in answer.reasons]
    claim.paid_amount = paid
    claim.updated_at = now
    if answer.status == state.REJECTED:
        _alert(
            session,
            claim,
            f"rejected:{answer.claim_id}",
            "high",
            f"PALMED rejected the claim for the visit of {claim.service_date.isoformat()}",
            "; ".join(claim.problems),
            now,
        )
    return True


def reversal(session: Session, claim: Claim, answer: palmed.Claim, now: dt.datetime) -> None:
    """PALMED reversed the claim: the correction that superseded it stands instead (a paid
    claim keeps what was paid; PALMED recovers it in its next remittance)."""
    claim.status = state.REVERSED
    claim.palmed_claim_id = answer.claim_id
    claim.updated_at = now


def _alert(
    session: Session,
    claim: Claim,
    event: str,
    priority: str,
    title: str,
    detail: str,
    now: dt.datetime,
) -> None:
    """One open alert per claim and event, for the vehicle that made the claim."""
    dedupe_key = f"claim:{claim.id}:{event}"
    open_already = session.scalar(
        select(Alert.id).where(
            Alert.vehicle_id == claim.vehicle_id,
            Alert.dedupe_key == dedupe_key,
            Alert.status == "active",
        )
    )
    if open_already is not None:
        return
    session.add(
        Alert(
            vehicle_id=claim.vehicle_id,
            kind=ALERT_KIND,
            priority=priority,
            title=title[:200],
            detail=detail,
            resource_type="claim",
            resource_id=claim.id,
            dedupe_key=dedupe_key,
            status="active",
            escalation_level=0,
            created_at=now,
        )
    )
