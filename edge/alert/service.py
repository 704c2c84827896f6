"""One alerts model for the vehicle: critical vitals, stock, maintenance, sync, claims.

Other code raises alerts with `raise_alert`; a recurring condition passes a `dedupe_key`
so it raises one alert until that alert is resolved. `escalate_overdue` is what the
scheduled job (`edge.jobs.escalate_alerts`) runs: a high or critical alert nobody
acknowledges climbs a level each time the escalation interval passes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import Conflict, NotFound
from edge.scope import page_of, vehicle_of
from schema.base import utcnow
from schema.models import Alert, AlertEscalation
from schema.models.alert import PRIORITIES

KINDS = (
    "critical_vital",
    "low_stock",
    "stock_expiry",
    "maintenance_due",
    "stale_sync",
    "claim",  # raised at the hub (a rejection, or a claim held for attention), synced here
    "emergency_account",  # raised at the hub when a laptop's emergency account arrives
    "duplicate_visit",  # raised at the hub: two laptops each opened one for a patient
    "patient_deactivated",  # raised at the hub: a visit for a patient deactivated meanwhile
)
STATUSES = ("active", "acknowledged", "resolved")
ESCALATING = ("high", "critical")
DEFAULT_ESCALATION_MINUTES = 30


def raise_alert(
    session: Session,
    *,
    vehicle_id: str | None,
    kind: str,
    priority: str,
    title: str,
    detail: str | None = None,
    resource_type: str | None = None,
    resource_id: str | None = None,
    dedupe_key: str | None = None,
) -> Alert:
    """Raise an alert in the caller's transaction (not committed here). With a
    `dedupe_key`, an unresolved alert with the same key is returned instead of a new one
    (its priority raised if the new one is more urgent)."""
    if kind not in KINDS or priority not in PRIORITIES:
        raise ValueError(f"unknown alert kind or priority: {kind!r}, {priority!r}")
    if dedupe_key is not None:
        existing = session.scalar(
            select(Alert).where(
                Alert.vehicle_id == vehicle_id,
                Alert.dedupe_key == dedupe_key,
                Alert.status != "resolved",
            )
        )
        if existing is not None:
            if PRIORITIES.index(priority) > PRIORITIES.index(existing.priority):
                existing.priority = priority
            return existing
    alert = Alert(
        vehicle_id=vehicle_id,
        kind=kind,
        priority=priority,
        title=title[:200],
        detail=detail,
        resource_type=resource_type,
        resource_id=resource_id,
        dedupe_key=dedupe_key,
        status="active",
        escalation_level=0,
        created_at=utcnow(),
    )
    session.add(alert)
    session.flush()
    return alert


def list_alerts(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """This vehicle's alerts: open ones first, the most urgent first, the newest first."""
    query = select(Alert).where(_visible(actor))
    if wanted.get("status") == "open":
        query = query.where(Alert.status != "resolved")
    elif wanted.get("status"):
        query = query.where(Alert.status == wanted["status"])
    for name in ("priority", "kind"):
        if wanted.get(name):
            query = query.where(getattr(Alert, name) == wanted[name])
    order = (Alert.status == "resolved", _urgency().desc(), Alert.created_at.desc())
    rows, total = page_of(session, query.order_by(*order), page, per_page)
    return [view(row) for row in rows], total


def acknowledge(session: Session, actor: Actor, alert_id: str) -> dict[str, Any]:
    """Say someone has seen the alert and is on it: stops its escalation."""
    alert = _find(session, actor, alert_id)
    if alert.status != "active":
        raise Conflict(f"The alert is already {alert.status}")
    alert.status, alert.acknowledged_by, alert.acknowledged_at = (
        "acknowledged",
        actor.user_id,
        utcnow(),
    )
    return _saved(session, actor, "alert_acknowledged", alert)


def resolve(session: Session, actor: Actor, alert_id: str) -> dict[str, Any]:
    """Close the alert; a condition that recurs afterwards raises a new one."""
    alert = _find(session, actor, alert_id)
    if alert.status == "resolved":
        raise Conflict("The alert is already resolved")
    now = utcnow()
    if alert.acknowledged_at is None:
        alert.acknowledged_by, alert.acknowledged_at = actor.user_id, now
    alert.status, alert.resolved_by, alert.resolved_at = "resolved", actor.user_id, now
    return _saved(session, actor, "alert_resolved", alert)


def escalate_overdue(session: Session, now: dt.datetime, after: dt.timedelta) -> list[Alert]:
    """Raise the escalation level of every high or critical alert left unacknowledged for
    another `after` (level n is reached after n intervals). Joins the caller's transaction."""
    candidates = session.scalars(
        select(Alert).where(
            Alert.status == "active",
            Alert.priority.in_(ESCALATING),
            Alert.created_at <= now - after,
        )
    ).all()
    raised = []
    for alert in candidates:
        due_level = int((now - alert.created_at) / after)
        if due_level > alert.escalation_level:
            session.add(
                AlertEscalation(
                    alert_id=alert.id,
                    vehicle_id=alert.vehicle_id,
                    from_level=alert.escalation_level,
                    to_level=due_level,
                    reason="unacknowledged",
                    at=now,
                )
            )
            alert.escalation_level = due_level
            raised.append(alert)
    session.flush()
    return raised


def counts(session: Session, vehicle_id: str) -> dict[str, int]:
    """Open alerts by priority, for the dashboard."""
    rows = session.scalars(
        select(Alert.priority).where(
            or_(Alert.vehicle_id == vehicle_id, Alert.vehicle_id.is_(None)),
            Alert.status != "resolved",
        )
    ).all()
    return {p: rows.count(p) for p in PRIORITIES}


def view(alert: Alert) -> dict[str, Any]:
    return {
        name: getattr(alert, name)
        for name in (
            "id",
            "vehicle_id",
            "kind",
            "priority",
            "title",
            "detail",
            "resource_type",
            "resource_id",
            "status",
            "escalation_level",
            "created_at",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
        )
    }


def _visible(actor: Actor) -> Any:
    return or_(Alert.vehicle_id == vehicle_of(actor), Alert.vehicle_id.is_(None))


def _find(session: Session, actor: Actor, alert_id: str) -> Alert:
    alert = session.scalar(select(Alert).where(Alert.id == alert_id, _visible(actor)))
    if alert is None:
        raise NotFound(f"Alert {alert_id} not found")
    return alert


def _saved(session: Session, actor: Actor, action: str, alert: Alert) -> dict[str, Any]:
    audit.record(session, actor, action, resource_type="alert", resource_id=alert.id)
    session.commit()
    return view(alert)


def _urgency() -> Any:
    return case({p: n for n, p in enumerate(PRIORITIES)}, value=Alert.priority, else_=0)
