"""The five-stage visit as a state machine: the one place that says who may move a visit,
where to, and what must be recorded first.

Registration -> Nursing Assessment -> Doctor Consultation -> Counseling Session -> Closure.
A visit moves forward one stage at a time, by a role allowed at the stage it leaves,
once that stage's record is complete. Going back a stage or reopening a closed visit is
an administrator's action with a reason. This module decides; `service.py` gathers the
facts from the database and writes the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.errors import BadRequest, Conflict, Forbidden
from common.permission import Role

REGISTRATION = "registration"
NURSING = "nursing_assessment"
CONSULTATION = "doctor_consultation"
COUNSELING = "counseling_session"
CLOSURE = "closure"
STAGES = (REGISTRATION, NURSING, CONSULTATION, COUNSELING, CLOSURE)

OPEN = "open"
CLOSED = "closed"

LABELS = {
    REGISTRATION: "Registration",
    NURSING: "Nursing assessment",
    CONSULTATION: "Doctor consultation",
    COUNSELING: "Counseling session",
    CLOSURE: "Closure",
}

# Who works at each stage (an administrator may act at any of them).
STAGE_ROLES: dict[str, frozenset[str]] = {
    REGISTRATION: frozenset({Role.CLERK, Role.NURSE}),
    NURSING: frozenset({Role.NURSE}),
    CONSULTATION: frozenset({Role.DOCTOR}),
    COUNSELING: frozenset({Role.SOCIAL_WORKER}),
    CLOSURE: frozenset(),
}

FORWARD = "forward"
BACK = "back"
REOPEN = "reopen"
OPENED = "open"


@dataclass(frozen=True)
class Recorded:
    """What the visit holds so far: the facts the exit rules look at."""

    vitals: int = 0
    diagnoses: int = 0
    counseling_notes: int = 0
    skip_reason: str | None = None


@dataclass(frozen=True)
class Move:
    from_stage: str | None
    to_stage: str
    kind: str

    @property
    def closes(self) -> bool:
        return self.to_stage == CLOSURE


def may_act(role: str, stage: str) -> bool:
    return role == Role.ADMINISTRATOR or role in STAGE_ROLES[stage]


def require_role(role: str, stage: str) -> None:
    """Refuse a role that does not work at `stage`."""
    if not may_act(role, stage):
        allowed = " or ".join(sorted(r.replace("_", " ") for r in STAGE_ROLES[stage]))
        raise Forbidden(f"Only a {allowed or 'administrator'} may act at {LABELS[stage].lower()}")


def require_stage(stage: str, status: str, role: str, *stages: str) -> None:
    """Recording something belongs to certain stages, by the roles of the current one."""
    if status != OPEN:
        raise Conflict("This visit is closed; an administrator must reopen it first")
    if stage not in stages:
        wanted = " or ".join(LABELS[s].lower() for s in stages)
        raise Conflict(f"This is recorded during {wanted}; the visit is at {LABELS[stage].lower()}")
    require_role(role, stage)


def exit_problem(stage: str, recorded: Recorded) -> str | None:
    """What is still missing before a visit may leave `stage`, or None."""
    if stage == NURSING and recorded.vitals == 0:
        return "Record vital signs before leaving the nursing assessment"
    if stage == CONSULTATION and recorded.diagnoses == 0:
        return "Record at least one ICD-10 diagnosis before leaving the consultation"
    if stage == COUNSELING and recorded.counseling_notes == 0 and not recorded.skip_reason:
        return "Write a counseling note, or give the reason counseling was skipped"
    return None


def advance(stage: str, status: str, role: str, recorded: Recorded) -> Move:
    """The next stage, if this role may move the visit there now."""
    if status != OPEN or stage == CLOSURE:
        raise Conflict("This visit is closed")
    require_role(role, stage)
    problem = exit_problem(stage, recorded)
    if problem is not None:
        raise Conflict(problem)
    return Move(stage, STAGES[STAGES.index(stage) + 1], FORWARD)


def back(stage: str, status: str, role: str, reason: str | None) -> Move:
    """One stage back: an administrator's correction, with a reason."""
    _require_admin(role, reason)
    if status != OPEN:
        raise Conflict("This visit is closed; reopen it instead")
    index = STAGES.index(stage)
    if index == 0:
        raise Conflict("The visit is at its first stage")
    return Move(stage, STAGES[index - 1], BACK)


def reopen(stage: str, status: str, role: str, reason: str | None) -> Move:
    """A closed visit back to its counseling stage: an administrator's action, with a reason."""
    _require_admin(role, reason)
    if status != CLOSED:
        raise Conflict("This visit is not closed")
    return Move(stage, COUNSELING, REOPEN)


def _require_admin(role: str, reason: str | None) -> None:
    if role != Role.ADMINISTRATOR:
        raise Forbidden("Only an administrator may move a visit back or reopen it")
    if not reason or not reason.strip():
        raise BadRequest("Give the reason", details={"reason": ["Give the reason"]})
