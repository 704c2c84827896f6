"""`/api/alerts` at head office: the fleet's open alerts, acknowledge and resolve."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import endpoint, ok, paginated
from common.database import db
from hub.alert import service
from hub.alert.schemas import AlertOut, AlertQuery

bp = Blueprint("alerts", __name__)


@bp.get("/api/alerts")
@endpoint("alerts:read", query=AlertQuery, response=AlertOut, many=True)
def list_alerts(query: dict[str, Any]) -> Any:
    """Alerts of the caller's vehicles (every vehicle for head office), most urgent and
    most escalated first (open ones unless state=all)."""
    wanted = service.AlertFilter(query["state"], query.get("vehicle_id"), query.get("priority"))
    page, per_page = query["page"], query["per_page"]
    rows, total = service.list_alerts(db.session, current_actor(), wanted, page, per_page)
    return paginated(AlertOut().dump(rows, many=True), page, per_page, total)


@bp.post("/api/alerts/<alert_id>/acknowledge")
@endpoint("alerts:write", response=AlertOut)
def acknowledge(alert_id: str) -> Any:
    """Acknowledge an alert: it stops escalating."""
    alert = service.acknowledge(db.session, current_actor(), alert_id)
    return ok(AlertOut().dump(alert), "Alert acknowledged")


@bp.post("/api/alerts/<alert_id>/resolve")
@endpoint("alerts:write", response=AlertOut)
def resolve(alert_id: str) -> Any:
    """Resolve an alert."""
    return ok(AlertOut().dump(service.resolve(db.session, current_actor(), alert_id)), "Resolved")
