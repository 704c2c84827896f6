"""`/api/fleet` (sync health of every vehicle) and `/api/stock/fleet` (stock side by side)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from common.access import current_actor
from common.api import PageQuery, endpoint, paginated
from common.database import db
from hub.fleet import service
from hub.fleet.schemas import StockRowOut, VehicleHealthOut
from hub.supply.schemas import StockQuery
from schema.base import utcnow

bp = Blueprint("fleet", __name__)


def health() -> service.Health:
    return service.health_of(current_app.config)


@bp.get("/api/fleet")
@endpoint("dashboard:read", query=PageQuery, response=VehicleHealthOut, many=True)
def fleet(query: dict[str, Any]) -> Any:
    """Every vehicle (of the caller's, for a crew role) with its last successful sync,
    lag and health (green/amber/red)."""
    rows = service.fleet(db.session, current_actor(), health(), utcnow())
    page, per_page = query["page"], query["per_page"]
    shown = rows[(page - 1) * per_page : page * per_page]
    return paginated(VehicleHealthOut().dump(shown, many=True), page, per_page, len(rows))


@bp.get("/api/stock/fleet")
@endpoint("inventory:read", query=StockQuery, response=StockRowOut, many=True)
def fleet_stock(query: dict[str, Any]) -> Any:
    """Each item's quantity on hand on every vehicle (the caller's, for a crew role),
    with low-stock and expiry flags."""
    wanted = service.StockFilter(query.get("q"), query["low_only"])
    page, per_page = query["page"], query["per_page"]
    today = utcnow().date()
    data, total = service.stock(db.session, current_actor(), wanted, today, page, per_page)
    return paginated(StockRowOut().dump(data, many=True), page, per_page, total)
