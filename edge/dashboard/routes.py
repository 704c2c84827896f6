"""The dashboard API (seed 003 path): thin over `edge.dashboard.service`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import endpoint, ok
from common.database import db
from edge.dashboard import service

bp = Blueprint("dashboard", __name__)


@bp.get("/api/dashboard/stats")
@endpoint("dashboard:read")
def stats() -> Any:
    """Today on this vehicle: the route, bookings, stock, assets, supply and open alerts."""
    return ok(service.stats(db.session, current_actor()))
