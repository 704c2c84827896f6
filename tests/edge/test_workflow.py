"""The visit state machine on its own: every forward move by every role, the exit rules,
and the administrator's back and reopen moves."""

from __future__ import annotations

import pytest

from common.errors import BadRequest, Conflict, Forbidden
from common.permission import Role
from edge.visit import workflow
from edge.visit.workflow import Recorded

COMPLETE = Recorded(vitals=1, diagnoses=1, counseling_notes=1)
WORKING = workflow.STAGES[:-1]
ACTS_AT = {
    workflow.REGISTRATION: {"clerk", "nurse", "administrator"},
    workflow.NURSING: {"nurse", "administrator"},
    workflow.CONSULTATION: {"doctor", "administrator"},
    workflow.COUNSELING: {"social_worker", "administrator"},
}


@pytest.mark.parametrize("stage", WORKING)
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_stage_moves_forward_only_by_its_roles(stage: str, role: str) -> None:
    if role in ACTS_AT[stage]:
        move = workflow.advance(stage, workflow.OPEN, role, COMPLETE)
        assert move.to_stage == workflow.STAGES[workflow.STAGES.index(stage) + 1]
        assert move.kind == workflow.FORWARD
        assert move.closes == (stage == workflow.COUNSELING)
    else:
        with pytest.raises(Forbidden):
            workflow.advance(stage, workflow.OPEN, role, COMPLETE)


@pytest.mark.parametrize(
    ("stage", "missing", "message"),
    [
        (workflow.NURSING, Recorded(diagnoses=1, counseling_notes=1), "vital signs"),
        (workflow.CONSULTATION, Recorded(vitals=1, counseling_notes=1), "ICD-10"),
        (workflow.COUNSELING, Recorded(vitals=1, diagnoses=1), "counseling note"),
    ],
)
def test_a_stage_is_not_left_before_its_record_is_complete(
    stage: str, missing: Recorded, message: str
) -> None:
    with pytest.raises(Conflict, match=message):
        workflow.advance(stage, workflow.OPEN, "administrator", missing)


def test_counseling_may_be_skipped_with_a_reason() -> None:
    skipped = Recorded(vitals=1, diagnoses=1, skip_reason="Patient declined")
    assert workflow.advance(workflow.COUNSELING, workflow.OPEN, "social_worker", skipped).closes


def test_a_closed_visit_does_not_move_forward() -> None:
    with pytest.raises(Conflict):
        workflow.advance(workflow.CLOSURE, workflow.CLOSED, "administrator", COMPLETE)


@pytest.mark.parametrize("role", [r.value for r in Role if r != Role.ADMINISTRATOR])
def test_only_an_administrator_moves_back_or_reopens(role: str) -> None:
    with pytest.raises(Forbidden):
        workflow.back(workflow.CONSULTATION, workflow.OPEN, role, "typo")
    with pytest.raises(Forbidden):
        workflow.reopen(workflow.CLOSURE, workflow.CLOSED, role, "late result")


@pytest.mark.parametrize("stage", WORKING[1:])
def test_back_is_one_stage_with_a_reason(stage: str) -> None:
    move = workflow.back(stage, workflow.OPEN, "administrator", "wrong patient's vitals")
    assert move.to_stage == workflow.STAGES[workflow.STAGES.index(stage) - 1]
    assert move.kind == workflow.BACK
    with pytest.raises(BadRequest):
        workflow.back(stage, workflow.OPEN, "administrator", "  ")


def test_back_and_reopen_refuse_the_wrong_state() -> None:
    with pytest.raises(Conflict):
        workflow.back(workflow.REGISTRATION, workflow.OPEN, "administrator", "why")
    with pytest.raises(Conflict):
        workflow.back(workflow.CLOSURE, workflow.CLOSED, "administrator", "why")
    with pytest.raises(Conflict):
        workflow.reopen(workflow.NURSING, workflow.OPEN, "administrator", "why")
    move = workflow.reopen(workflow.CLOSURE, workflow.CLOSED, "administrator", "lab result")
    assert (move.to_stage, move.kind) == (workflow.COUNSELING, workflow.REOPEN)


@pytest.mark.parametrize("stage", WORKING)
def test_recording_belongs_to_its_stage_and_its_roles(stage: str) -> None:
    role = sorted(ACTS_AT[stage] - {"administrator"})[0]
    workflow.require_stage(stage, workflow.OPEN, role, stage)
    other = next(s for s in WORKING if s != stage)
    with pytest.raises(Conflict):
        workflow.require_stage(stage, workflow.OPEN, role, other)
    with pytest.raises(Conflict):
        workflow.require_stage(stage, workflow.CLOSED, role, stage)
    with pytest.raises(Forbidden):
        workflow.require_stage(stage, workflow.OPEN, "viewer", stage)
