"""Diagnoses of the doctor's consultation, coded in ICD-10; one of them is primary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict, NotFound
from edge.diagnosis import icd10
from edge.scope import find_visit, vehicle_of
from edge.visit import workflow
from schema.base import utcnow
from schema.models import Diagnosis

RESOURCE = "diagnosis"


def record(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Add a diagnosis; the first is primary, and a new primary makes the old one secondary."""
    visit = find_visit(session, vehicle_of(actor), data["visit_id"])
    workflow.require_stage(visit.stage, visit.status, actor.role, workflow.CONSULTATION)
    code = icd10.normalise(data["icd10_code"])
    problem = icd10.problem(code)
    if problem is not None:
        raise BadRequest(problem, details={"icd10_code": [problem]})
    existing = _active(session, visit.id)
    if any(d.icd10_code == code for d in existing):
        raise Conflict(f"{icd10.display(code)} is already recorded for this visit")
    primary = data["is_primary"] or not any(d.is_primary for d in existing)
    if primary:
        for other in existing:
            other.is_primary = False
    diagnosis = Diagnosis(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        vehicle_id=visit.vehicle_id,
        icd10_code=code,
        description=icd10.description(code)[:255],
        is_primary=primary,
        status="active",
        recorded_by=actor.user_id,
        recorded_at=utcnow(),
    )
    session.add(diagnosis)
    session.flush()
    audit.record(
        session,
        actor,
        "diagnosis_recorded",
        resource_type=RESOURCE,
        resource_id=diagnosis.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "icd10_code": code},
    )
    session.commit()
    return view(diagnosis)


def remove(session: Session, actor: Actor, diagnosis_id: str) -> dict[str, Any]:
    """Withdraw a diagnosis entered in error (kept, marked removed); if it was primary,
    the earliest remaining one becomes primary."""
    diagnosis = session.get(Diagnosis, diagnosis_id)
    if diagnosis is None or diagnosis.vehicle_id != vehicle_of(actor):
        raise NotFound("Diagnosis not found")
    visit = find_visit(session, diagnosis.vehicle_id, diagnosis.visit_id)
    workflow.require_stage(visit.stage, visit.status, actor.role, workflow.CONSULTATION)
    if diagnosis.status != "active":
        raise Conflict("This diagnosis is already removed")
    diagnosis.status, was_primary, diagnosis.is_primary = "removed", diagnosis.is_primary, False
    remaining = [d for d in _active(session, visit.id) if d.id != diagnosis.id]
    if was_primary and remaining:
        remaining[0].is_primary = True
    audit.record(
        session,
        actor,
        "diagnosis_removed",
        resource_type=RESOURCE,
        resource_id=diagnosis.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "icd10_code": diagnosis.icd10_code},
    )
    session.commit()
    return view(diagnosis)


def _active(session: Session, visit_id: str) -> list[Diagnosis]:
    query = select(Diagnosis).where(Diagnosis.visit_id == visit_id, Diagnosis.status == "active")
    return list(session.scalars(query.order_by(Diagnosis.recorded_at)))


def for_visit(session: Session, actor: Actor, visit_id: str) -> list[dict[str, Any]]:
    visit = find_visit(session, vehicle_of(actor), visit_id)
    rows = _active(session, visit.id)
    audit.record_read(
        session, actor, RESOURCE, None, patient_id=visit.patient_id, detail={"visit_id": visit.id}
    )
    return [view(d) for d in rows]


def view(diagnosis: Diagnosis) -> dict[str, Any]:
    values = {column.key: getattr(diagnosis, column.key) for column in Diagnosis.__table__.columns}
    values["display"] = icd10.display(diagnosis.icd10_code)
    return values
