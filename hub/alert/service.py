"""The fleet's alerts at head office: list the open ones, acknowledge, resolve; each
caller sees the alerts of the vehicles and kinds in their reach (`hub.scope`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import Conflict, NotFound
from hub import scope
from hub.alert.job import OPEN
from schema.base import utcnow
from schema.models import Alert

_RANK = case({"critical": 0, "high": 1, "medium": 2, "low": 3}, value=Alert.priority, else_=4)


@dataclass(frozen=True)
class AlertFilter:
    state: str = "open"
    vehicle_id: str | None = None
    priority: str | None = None


def list_alerts(
    session: Session, who: Actor | scope.Reach, wanted: AlertFilter, page: int, per_page: int
) -> tuple[list[Alert], int]:
    """Alerts in the caller's reach, most urgent and most escalated first, then oldest."""
    query = scope.reach(session, who).narrowed(wanted.vehicle_id).alerts(select(Alert))
    if wanted.state == "open":
        query = query.where(Alert.status.in_(OPEN))
    if wanted.priority:
        query = query.where(Alert.priority == wanted.priority)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(_RANK, Alert.escalation_level.desc(), Alert.created_at, Alert.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def acknowledge(session: Session, actor: Actor, alert_id: str) -> Alert:
    """Someone has seen it: escalation stops."""
    alert = _locked(session, actor, alert_id)
    if alert.status != "active":
        raise Conflict(f"This alert is already {alert.status}")
    alert.status, alert.acknowledged_by, alert.acknowledged_at = (
        "acknowledged",
        actor.user_id,
        utcnow(),
    )
    return _saved(session, actor, alert, "alert_acknowledged")


def resolve(session: Session, actor: Actor, alert_id: str) -> Alert:
    alert = _locked(session, actor, alert_id)
    if alert.status == "resolved":
        raise Conflict("This alert is already resolved")
    alert.status, alert.resolved_by, alert.resolved_at = "resolved", actor.user_id, utcnow()
    return _saved(session, actor, alert, "alert_resolved")


def _locked(session: Session, actor: Actor, alert_id: str) -> Alert:
    """The alert, locked, if the caller may see it: another vehicle's is a 404."""
    alert = session.get(Alert, alert_id, with_for_update=True, populate_existing=True)
    if alert is None or not scope.reach(session, actor).sees_alert(alert):
        raise NotFound("No such alert")
    return alert


def _saved(session: Session, actor: Actor, alert: Alert, action: str) -> Any:
    audit.record(session, actor, action, resource_type="alert", resource_id=alert.id)
    session.commit()
    return alert
