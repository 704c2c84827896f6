"""Opening visits, moving them through the stages, and the queue of who waits where."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.clinicday import clinic_day
from common.database import committed
from common.errors import BadRequest, Conflict
from edge.claim import draft
from edge.scope import find_patient, find_visit, vehicle_of
from edge.visit import workflow
from edge.visit.workflow import Move, Recorded
from schema.base import utcnow
from schema.models import (
    Appointment,
    ClinicalNote,
    Diagnosis,
    Location,
    Patient,
    Prescription,
    Referral,
    Visit,
    VisitTransition,
    VitalSign,
)

RESOURCE = "visit"


def open_visit(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Register a patient's arrival: one open visit per patient per day on this vehicle."""
    vehicle_id = vehicle_of(actor)
    workflow.require_role(actor.role, workflow.REGISTRATION)
    patient = find_patient(session, vehicle_id, data["patient_id"])
    if patient.status != "active":
        raise Conflict("This patient is deactivated")
    now = utcnow()
    today = clinic_day(now)
    _check_location(session, data.get("location_id"))
    _check_appointment(session, vehicle_id, patient.id, data.get("appointment_id"))
    if _open_today(session, vehicle_id, patient.id, today):
        raise Conflict("This patient already has an open visit today")
    visit = Visit(
        patient_id=patient.id,
        vehicle_id=vehicle_id,
        visit_date=today,
        open_day=today,
        stage=workflow.REGISTRATION,
        status=workflow.OPEN,
        location_id=data.get("location_id"),
        appointment_id=data.get("appointment_id"),
        eligibility_status=patient.member_status,
        eligibility_verified_at=patient.member_verified_at,
        opened_by=actor.user_id,
        opened_at=now,
    )
    session.add(visit)
    session.flush()
    _transition(session, actor, visit, Move(None, workflow.REGISTRATION, workflow.OPENED), None)
    return _saved(session, actor, visit, "visit_opened")


def _open_today(session: Session, vehicle_id: str, patient_id: str, today: Any) -> bool:
    query = select(Visit.id).where(
        Visit.vehicle_id == vehicle_id, Visit.patient_id == patient_id, Visit.open_day == today
    )
    return session.scalar(query) is not None


def _check_location(session: Session, location_id: str | None) -> None:
    if location_id and session.get(Location, location_id) is None:
        raise BadRequest("Invalid input", details={"location_id": ["No such location"]})


def _check_appointment(
    session: Session, vehicle_id: str, patient_id: str, appointment_id: str | None
) -> None:
    """A visit may name the patient's own appointment on this vehicle, nothing else."""
    if not appointment_id:
        return
    appointment = session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.vehicle_id != vehicle_id
        or appointment.patient_id != patient_id
    ):
        message = "Not this patient's appointment on this vehicle"
        raise BadRequest("Invalid input", details={"appointment_id": [message]})


def get(session: Session, actor: Actor, visit_id: str) -> dict[str, Any]:
    visit = find_visit(session, vehicle_of(actor), visit_id)
    shown = view(session, visit)  # in the read's own transaction, before it ends
    audit.record_read(session, actor, RESOURCE, visit.id, patient_id=visit.patient_id)
    return shown


def update(
    session: Session, actor: Actor, visit_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a visit's summary or location; the stage moves only by the stage actions."""
    visit = find_visit(session, vehicle_of(actor), visit_id)
    if visit.status != workflow.OPEN:
        raise Conflict("This visit is closed; an administrator must reopen it first")
    workflow.require_role(actor.role, visit.stage)
    _check_location(session, changes.get("location_id"))
    for name, value in changes.items():
        setattr(visit, name, value)
    return _saved(session, actor, visit, "visit_updated", {"changed": sorted(changes)})


def advance(
    session: Session, actor: Actor, visit_id: str, skip_reason: str | None = None
) -> dict[str, Any]:
    """Finish the current stage and move on; leaving counseling closes the visit and drafts
    its claim."""
    visit = find_visit(session, vehicle_of(actor), visit_id)
    if skip_reason and visit.stage != workflow.COUNSELING:
        raise BadRequest(
            "Only counseling can be skipped",
            details={"skip_reason": ["Only counseling can be skipped"]},
        )
    recorded = recorded_facts(session, visit, skip_reason)
    move = workflow.advance(visit.stage, visit.status, actor.role, recorded)
    if skip_reason and not recorded.counseling_notes:
        visit.counseling_skip_reason = skip_reason.strip()
    _transition(session, actor, visit, move, skip_reason)
    if move.closes:
        _close(session, actor, visit)
    return _saved(session, actor, visit, "visit_closed" if move.closes else "visit_advanced")


def move_back(session: Session, actor: Actor, visit_id: str, reason: str) -> dict[str, Any]:
    """An administrator's correction: the visit returns to the stage before."""
    visit = find_visit(session, vehicle_of(actor), visit_id)
    move = workflow.back(visit.stage, visit.status, actor.role, reason)
    _transition(session, actor, visit, move, reason)
    return _saved(session, actor, visit, "visit_moved_back", {"reason": reason})


def reopen(session: Session, actor: Actor, visit_id: str, reason: str) -> dict[str, Any]:
    """An administrator reopens a closed visit; its claim is withdrawn (never deleted)
    and the next closure drafts the claim that supersedes it."""
    visit = find_visit(session, vehicle_of(actor), visit_id)
    move = workflow.reopen(visit.stage, visit.status, actor.role, reason)
    if _open_today(session, visit.vehicle_id, visit.patient_id, visit.visit_date):
        raise Conflict("The patient has another open visit that day")
    draft.withdraw(session, actor, visit, reason)
    visit.status, visit.open_day = workflow.OPEN, visit.visit_date
    visit.closed_by = visit.closed_at = None
    _transition(session, actor, visit, move, reason)
    return _saved(session, actor, visit, "visit_reopened", {"reason": reason})


def _close(session: Session, actor: Actor, visit: Visit) -> None:
    visit.status, visit.open_day = workflow.CLOSED, None
    visit.closed_by, visit.closed_at = actor.user_id, utcnow()
    visit.summary = visit.summary or summary(session, visit)
    session.flush()
    draft.build(session, actor, visit)


def _transition(
    session: Session, actor: Actor, visit: Visit, move: Move, reason: str | None
) -> None:
    visit.stage = move.to_stage
    session.add(
        VisitTransition(
            visit_id=visit.id,
            vehicle_id=visit.vehicle_id,
            from_stage=move.from_stage,
            to_stage=move.to_stage,
            kind=move.kind,
            reason=reason,
            actor_id=actor.user_id,
            actor_role=actor.role,
            at=utcnow(),
        )
    )


def _saved(
    session: Session, actor: Actor, visit: Visit, action: str, detail: dict[str, Any] | None = None
) -> dict[str, Any]:
    session.flush()
    audit.record(
        session,
        actor,
        action,
        resource_type=RESOURCE,
        resource_id=visit.id,
        patient_id=visit.patient_id,
        detail={"stage": visit.stage, **(detail or {})},
    )
    return committed(session, view(session, visit))


def recorded_facts(session: Session, visit: Visit, skip_reason: str | None = None) -> Recorded:
    """What the exit rules need to know about the visit."""

    def count(model: Any, *where: Any) -> int:
        query = select(func.count()).select_from(model).where(model.visit_id == visit.id, *where)
        return session.scalar(query) or 0

    return Recorded(
        vitals=count(VitalSign),
        diagnoses=count(Diagnosis, Diagnosis.status == "active"),
        counseling_notes=count(ClinicalNote, ClinicalNote.stage == workflow.COUNSELING),
        skip_reason=skip_reason or visit.counseling_skip_reason,
    )


def summary(session: Session, visit: Visit) -> str:
    """A one-paragraph visit summary for the record, from what was recorded."""
    codes = session.scalars(
        select(Diagnosis.icd10_code + " " + Diagnosis.description)
        .where(Diagnosis.visit_id == visit.id, Diagnosis.status == "active")
        .order_by(Diagnosis.is_primary.desc(), Diagnosis.recorded_at)
    ).all()
    medicines = session.scalar(select(func.count()).where(Prescription.visit_id == visit.id)) or 0
    referrals = session.scalar(select(func.count()).where(Referral.visit_id == visit.id)) or 0
    parts = [f"Diagnoses: {'; '.join(codes) or 'none'}", f"Prescriptions: {medicines}"]
    parts.append(f"Referrals: {referrals}")
    if visit.counseling_skip_reason:
        parts.append(f"Counseling skipped: {visit.counseling_skip_reason}")
    return ". ".join(parts) + "."


def queue(session: Session, actor: Actor) -> dict[str, list[dict[str, Any]]]:
    """The open visits of this vehicle by stage, longest waiting first."""
    vehicle_id = vehicle_of(actor)
    entered = (
        select(VisitTransition.visit_id, func.max(VisitTransition.at).label("since"))
        .where(VisitTransition.vehicle_id == vehicle_id)
        .group_by(VisitTransition.visit_id)
        .subquery()
    )
    rows = session.execute(
        select(Visit, Patient, entered.c.since)
        .join(Patient, Patient.id == Visit.patient_id)
        .join(entered, entered.c.visit_id == Visit.id)
        .where(Visit.vehicle_id == vehicle_id, Visit.status == workflow.OPEN)
        .order_by(entered.c.since)
    ).all()
    stages: dict[str, list[dict[str, Any]]] = {s: [] for s in workflow.STAGES[:-1]}
    for visit, patient, since in rows:
        stages[visit.stage].append(
            {
                "visit_id": visit.id,
                "patient_id": patient.id,
                "patient_name": f"{patient.first_name} {patient.last_name}",
                "visit_date": visit.visit_date.isoformat(),
                "waiting_since": since,
            }
        )
    detail = {"visits": [visit.id for visit, _, _ in rows]}
    audit.record_read(session, actor, "visit_queue", None, detail=detail)
    return stages


def view(session: Session, visit: Visit) -> dict[str, Any]:
    """A visit with its patient, its stages (who and when) and its claim, if drafted."""
    patient = session.get_one(Patient, visit.patient_id)
    values = {column.key: getattr(visit, column.key) for column in Visit.__table__.columns}
    values["stage_label"] = workflow.LABELS[visit.stage]
    values["patient"] = {
        "id": patient.id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth,
        "sex": patient.sex,
        "allergies": patient.allergies,
        "medical_aid_number": patient.medical_aid_number,
    }
    values["transitions"] = [
        {
            "from_stage": t.from_stage,
            "to_stage": t.to_stage,
            "kind": t.kind,
            "reason": t.reason,
            "actor_id": t.actor_id,
            "actor_role": t.actor_role,
            "at": t.at,
        }
        for t in session.scalars(
            select(VisitTransition)
            .where(VisitTransition.visit_id == visit.id)
            .order_by(VisitTransition.at, VisitTransition.id)
        )
    ]
    values["claim"] = draft.brief(session, visit.id)
    return values
