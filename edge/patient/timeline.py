"""A patient's history on this vehicle, oldest first: visits and their stages, vitals,
notes, diagnoses, prescriptions, referrals and claims, as one list of events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from edge.scope import find_patient, vehicle_of
from edge.visit.workflow import LABELS
from schema.models import (
    Claim,
    ClinicalNote,
    Diagnosis,
    Prescription,
    Referral,
    Visit,
    VisitTransition,
    VitalSign,
)


def events(
    session: Session, actor: Actor, patient_id: str, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the patient's events in time order, and how many there are."""
    patient = find_patient(session, vehicle_of(actor), patient_id)
    found = sorted(_all(session, patient.id), key=lambda e: (e["at"], e["kind"]))
    audit.record_read(session, actor, "patient_timeline", patient.id, patient_id=patient.id)
    chunk = found[(page - 1) * per_page : page * per_page]
    return [{**e, "at": e["at"].isoformat()} for e in chunk], len(found)


def _event(at: dt.datetime, kind: str, visit_id: str | None, text: str, ref: str) -> dict[str, Any]:
    return {"at": at, "kind": kind, "visit_id": visit_id, "summary": text, "id": ref}


def _all(session: Session, patient_id: str) -> Iterator[dict[str, Any]]:
    visits = session.scalars(select(Visit).where(Visit.patient_id == patient_id)).all()
    visit_ids = [v.id for v in visits]
    for t in session.scalars(
        select(VisitTransition).where(VisitTransition.visit_id.in_(visit_ids))
    ):
        start = LABELS.get(t.from_stage or "", "new visit")
        text = f"{t.kind.capitalize()}: {start} -> {LABELS[t.to_stage]}"
        yield _event(t.at, "stage", t.visit_id, text, t.id)
    for v in session.scalars(select(VitalSign).where(VitalSign.patient_id == patient_id)):
        flagged = ", ".join(f"{k} {f}" for k, f in sorted(v.flags.items())) or "all in range"
        yield _event(v.recorded_at, "vitals", v.visit_id, f"Vital signs ({flagged})", v.id)
    for n in session.scalars(select(ClinicalNote).where(ClinicalNote.patient_id == patient_id)):
        yield _event(n.created_at, "note", n.visit_id, f"{n.kind.capitalize()} note", n.id)
    for d in session.scalars(select(Diagnosis).where(Diagnosis.patient_id == patient_id)):
        role = "primary" if d.is_primary else "secondary"
        yield _event(
            d.recorded_at, "diagnosis", d.visit_id, f"{d.icd10_code} {d.description} ({role})", d.id
        )
    for p in session.scalars(select(Prescription).where(Prescription.patient_id == patient_id)):
        yield _event(
            p.prescribed_at,
            "prescription",
            p.visit_id,
            f"Prescribed NAPPI {p.nappi_code} x{p.quantity}",
            p.id,
        )
        if p.dispensed_at is not None:
            yield _event(
                p.dispensed_at,
                "dispensed",
                p.visit_id,
                f"Dispensed NAPPI {p.nappi_code} x{p.quantity}",
                p.id,
            )
    for r in session.scalars(select(Referral).where(Referral.patient_id == patient_id)):
        yield _event(
            r.created_at,
            "referral",
            r.visit_id,
            f"{r.urgency.capitalize()} referral to {r.facility}",
            r.id,
        )
    for c in session.scalars(select(Claim).where(Claim.patient_id == patient_id)):
        yield _event(
            c.created_at,
            "claim",
            c.visit_id,
            f"Claim {c.status.replace('_', ' ')} (R {c.total_amount})",
            c.id,
        )
