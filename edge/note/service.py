"""Clinical notes, typed by the stage they are written at (nursing, clinical, counseling)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from edge.scope import find_visit, vehicle_of
from edge.visit import workflow
from schema.base import utcnow
from schema.models import ClinicalNote

RESOURCE = "clinical_note"
KINDS = {
    workflow.REGISTRATION: "registration",
    workflow.NURSING: "nursing",
    workflow.CONSULTATION: "clinical",
    workflow.COUNSELING: "counseling",
}


def write(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """A note on the visit's current stage, by a role that works at that stage."""
    visit = find_visit(session, vehicle_of(actor), data["visit_id"])
    workflow.require_stage(visit.stage, visit.status, actor.role, *KINDS)
    note = ClinicalNote(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        vehicle_id=visit.vehicle_id,
        stage=visit.stage,
        kind=KINDS[visit.stage],
        body=data["body"],
        author_id=actor.user_id,
        created_at=utcnow(),
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        actor,
        "note_written",
        resource_type=RESOURCE,
        resource_id=note.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "kind": note.kind},
    )
    session.commit()
    return view(note)


def for_visit(session: Session, actor: Actor, visit_id: str) -> list[dict[str, Any]]:
    visit = find_visit(session, vehicle_of(actor), visit_id)
    rows = session.scalars(
        select(ClinicalNote)
        .where(ClinicalNote.visit_id == visit.id)
        .order_by(ClinicalNote.created_at, ClinicalNote.id)
    ).all()
    audit.record_read(
        session, actor, RESOURCE, None, patient_id=visit.patient_id, detail={"visit_id": visit.id}
    )
    return [view(n) for n in rows]


def view(note: ClinicalNote) -> dict[str, Any]:
    return {column.key: getattr(note, column.key) for column in ClinicalNote.__table__.columns}
