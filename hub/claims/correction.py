"""Corrections: what a claim that supersedes another waits for before it goes to PALMED.

A visit reopened on the vehicle has its claim withdrawn there, and the claim drafted at
its next closure names the one it `supersedes`. The vehicle could not know whether the
hub had sent the earlier claim; the hub does, and decides here (pure rules over plain
facts, `decide`; `submission.intake` gathers the facts and acts):

| the superseded claim at the hub                       | the correction               |
|-------------------------------------------------------|------------------------------|
| never sent (waiting, held, or withdrawn)              | goes; the other is withdrawn |
| rejected by PALMED, or reversed                       | goes, naming it (`replaces`) |
| accepted or paid                                      | waits: it is reversed first  |
| submitted or reversing (PALMED's answer pending)      | waits                        |
| another visit's, or already superseded by another     | held for attention           |
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.claims import state
from schema.models import Claim


class Step(enum.Enum):
    GO = "go"  # check the correction and submit it
    WITHDRAW = "withdraw"  # the superseded claim was never sent: withdraw it, then go
    REVERSE = "reverse"  # reverse the superseded claim at PALMED first
    WAIT = "wait"  # PALMED's answer about the superseded claim is pending
    HOLD = "hold"  # the correction cannot stand as it is


GOING = (Step.GO, Step.WITHDRAW)


@dataclass(frozen=True)
class Facts:
    """What the decision needs: the superseded claim's status at the hub (None when the
    hub has no such claim), whether it is the same visit's, and whether an earlier claim
    supersedes it already."""

    status: str | None
    same_visit: bool
    superseded_before: bool


@dataclass(frozen=True)
class Decision:
    step: Step
    reason: str = ""


def decide(facts: Facts) -> Decision:
    """What to do with a correction now (see the table in the module's docstring)."""
    if facts.status is None:
        return Decision(Step.HOLD, "It corrects a claim head office does not hold")
    if not facts.same_visit:
        return Decision(Step.HOLD, "It corrects a claim of another visit")
    if facts.superseded_before:
        return Decision(Step.HOLD, "The claim it corrects was corrected by another claim")
    if facts.status in state.UNSENT:
        return Decision(Step.WITHDRAW)
    if facts.status in (state.REJECTED, state.REVERSED):
        return Decision(Step.GO)
    if facts.status in state.STANDING:
        return Decision(Step.REVERSE)
    if facts.status in (state.SUBMITTED, state.REVERSING):
        return Decision(Step.WAIT)
    return Decision(Step.HOLD, f"The claim it corrects is {facts.status}")


def facts(session: Session, claim: Claim, superseded: Claim | None) -> Facts:
    """The facts about a correction, read at the hub."""
    if superseded is None:
        return Facts(None, False, False)
    earlier = session.scalar(
        select(func.count())
        .select_from(Claim)
        .where(
            Claim.supersedes_id == superseded.id,
            Claim.id != claim.id,
            (Claim.created_at < claim.created_at)
            | ((Claim.created_at == claim.created_at) & (Claim.id < claim.id)),
        )
    )
    return Facts(superseded.status, superseded.visit_id == claim.visit_id, bool(earlier))


def withdraw(superseded: Claim, correction: Claim, now: dt.datetime) -> None:
    """A claim never sent that a correction replaces is withdrawn (by head office, when
    the vehicle's own withdrawal has not done so), so it is never sent."""
    if superseded.status == state.WITHDRAWN:
        return
    superseded.status = state.WITHDRAWN
    superseded.problems = [f"Replaced by claim {correction.id} before it was sent"]
    superseded.updated_at = now


def replaces(session: Session, claim: Claim) -> str | None:
    """PALMED's id of the claim a correction replaces, when PALMED holds one (rejected or
    reversed); the same on every retry, since that claim's status is final by then."""
    if claim.supersedes_id is None:
        return None
    superseded = session.get(Claim, claim.supersedes_id)
    if superseded is None or superseded.status not in (state.REJECTED, state.REVERSED):
        return None
    return superseded.palmed_claim_id
