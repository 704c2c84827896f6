"""The alerts API: thin over `edge.alert.service`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import endpoint, ok, paginated
from common.database import db
from edge.alert import service
from edge.alert.schemas import AlertOut, AlertQuery

bp = Blueprint("alerts", __name__)

_out = AlertOut()


@bp.get("/api/alerts")
@endpoint("alerts:read", query=AlertQuery, response=AlertOut, many=True)
def list_alerts(query: dict[str, Any]) -> Any:
    """This vehicle's alerts, open and most urgent first."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_alerts(db.session, current_actor(), query, page, per_page)
    return paginated(_out.dump(rows, many=True), page, per_page, total)


@bp.post("/api/alerts/<alert_id>/acknowledge")
@endpoint("alerts:write", response=AlertOut)
def acknowledge(alert_id: str) -> Any:
    """Take charge of an alert: it stops escalating."""
    return ok(
        _out.dump(service.acknowledge(db.session, current_actor(), alert_id)), "Alert acknowledged"
    )


@bp.post("/api/alerts/<alert_id>/resolve")
@endpoint("alerts:write", response=AlertOut)
def resolve(alert_id: str) -> Any:
    """Close an alert."""
    return ok(_out.dump(service.resolve(db.session, current_actor(), alert_id)), "Alert resolved")
