"""The routes API: thin over `edge.route.service`. Routes are planned at head office
(`hub/planning`) and arrive by sync; the vehicle reads them and books their slots."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import endpoint, ok, paginated
from common.database import db
from edge.route import service
from edge.route.schemas import RouteOut, RouteQuery

bp = Blueprint("routes", __name__)

_out = RouteOut()


@bp.get("/api/routes")
@endpoint("routes:read", query=RouteQuery, response=RouteOut, many=True)
def list_routes(query: dict[str, Any]) -> Any:
    """This vehicle's routes, by date."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_routes(db.session, current_actor(), query, page, per_page)
    return paginated(_out.dump(rows, many=True), page, per_page, total)


@bp.get("/api/routes/<route_id>")
@endpoint("routes:read", response=RouteOut)
def get_route(route_id: str) -> Any:
    """One route with its stops and slots, and the places left in each slot."""
    return ok(_out.dump(service.get_route(db.session, current_actor(), route_id)))
