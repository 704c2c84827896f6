"""Referrals made at the consultation or the counseling session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import Conflict, NotFound
from edge.scope import find_visit, vehicle_of
from edge.visit import workflow
from schema.base import utcnow
from schema.models import Referral

RESOURCE = "referral"


def refer(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Refer the patient on (internal: to another crew service; external: a facility)."""
    visit = find_visit(session, vehicle_of(actor), data["visit_id"])
    workflow.require_stage(
        visit.stage, visit.status, actor.role, workflow.CONSULTATION, workflow.COUNSELING
    )
    referral = Referral(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        vehicle_id=visit.vehicle_id,
        kind=data["kind"],
        facility=data["facility"].strip(),
        reason=data["reason"],
        urgency=data["urgency"],
        status="open",
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(referral)
    session.flush()
    audit.record(
        session,
        actor,
        "referral_made",
        resource_type=RESOURCE,
        resource_id=referral.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "urgency": referral.urgency},
    )
    session.commit()
    return view(referral)


# Where a referral may go from each status; completed and cancelled are final.
NEXT = {"open": {"sent", "completed", "cancelled"}, "sent": {"completed", "cancelled"}}


def set_status(session: Session, actor: Actor, referral_id: str, status: str) -> dict[str, Any]:
    """Follow a referral up (sent, completed, cancelled), also after the visit closed."""
    referral = session.get(Referral, referral_id)
    if referral is None or referral.vehicle_id != vehicle_of(actor):
        raise NotFound("Referral not found")
    if status not in NEXT.get(referral.status, set()):
        raise Conflict(f"A referral that is {referral.status} cannot become {status}")
    previous, referral.status = referral.status, status
    audit.record(
        session,
        actor,
        "referral_status",
        resource_type=RESOURCE,
        resource_id=referral.id,
        patient_id=referral.patient_id,
        detail={"from": previous, "to": status},
    )
    session.commit()
    return view(referral)


def search(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """This vehicle's referrals, newest first, by visit, status or urgency."""
    query = select(Referral).where(Referral.vehicle_id == vehicle_of(actor))
    for name in ("visit_id", "status", "urgency"):
        if wanted.get(name):
            query = query.where(getattr(Referral, name) == wanted[name])
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Referral.created_at.desc(), Referral.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    audit.record_read(session, actor, RESOURCE, None, detail={"results": [r.id for r in rows]})
    return [view(r) for r in rows], total


def view(referral: Referral) -> dict[str, Any]:
    return {column.key: getattr(referral, column.key) for column in Referral.__table__.columns}
