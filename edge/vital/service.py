"""Recording vital signs at the nursing assessment; critical values raise an alert."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from edge.alert.service import raise_alert
from edge.scope import find_visit, vehicle_of
from edge.visit import workflow
from edge.vital import ranges
from edge.vital.schemas import MEASUREMENTS
from schema.base import utcnow
from schema.models import Alert, VitalSign

RESOURCE = "vital_sign"
ALERT_KIND = "critical_vital"


def record(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Save one set of measurements with its flags and BMI; alert on critical values."""
    visit = find_visit(session, vehicle_of(actor), data["visit_id"])
    workflow.require_stage(visit.stage, visit.status, actor.role, workflow.NURSING)
    values = {name: data.get(name) for name in MEASUREMENTS}
    values["bmi"] = ranges.bmi(values["weight_kg"], values["height_cm"])
    flags = ranges.flags(values)
    vitals = VitalSign(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        vehicle_id=visit.vehicle_id,
        recorded_by=actor.user_id,
        recorded_at=utcnow(),
        flags=flags,
        **values,
    )
    session.add(vitals)
    session.flush()
    alert = _alert(session, vitals, values, flags)
    audit.record(
        session,
        actor,
        "vitals_recorded",
        resource_type=RESOURCE,
        resource_id=vitals.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "flags": flags},
    )
    session.commit()
    return view(vitals, alert.id if alert else None)


def _alert(
    session: Session, vitals: VitalSign, values: Mapping[str, Any], flags: Mapping[str, str]
) -> Alert | None:
    """A critical-priority alert for the crew (no names in it: the visit id leads there)."""
    critical = {name: flag for name, flag in flags.items() if ranges.is_critical(flag)}
    if not critical:
        return None
    detail = "; ".join(
        f"{ranges.RANGES[name].label} {values[name]} {ranges.RANGES[name].unit} "
        f"({flag.replace('_', ' ')})"
        for name, flag in critical.items()
    )
    return raise_alert(
        session,
        vehicle_id=vitals.vehicle_id,
        kind=ALERT_KIND,
        priority="critical",
        title="Critical vital signs: see the patient now",
        detail=f"{detail}. Visit {vitals.visit_id}.",
        resource_type=RESOURCE,
        resource_id=vitals.id,
    )


def for_visit(session: Session, actor: Actor, visit_id: str) -> list[dict[str, Any]]:
    visit = find_visit(session, vehicle_of(actor), visit_id)
    rows = session.scalars(
        select(VitalSign).where(VitalSign.visit_id == visit.id).order_by(VitalSign.recorded_at)
    ).all()
    audit.record_read(
        session, actor, RESOURCE, None, patient_id=visit.patient_id, detail={"visit_id": visit.id}
    )
    return [view(v) for v in rows]


def view(vitals: VitalSign, alert_id: str | None = None) -> dict[str, Any]:
    values = {column.key: getattr(vitals, column.key) for column in VitalSign.__table__.columns}
    values["alert_id"] = alert_id
    return values
