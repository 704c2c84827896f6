"""`/api/routes`: head office plans each vehicle's routes, stops and appointment slots."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from hub import csvfile
from hub.planning import service
from hub.planning.schemas import (
    RouteCancel,
    RouteChange,
    RouteCsvRow,
    RouteIn,
    RouteOut,
    RouteQuery,
)

bp = Blueprint("planning", __name__)

_FILTERS = ("vehicle_id", "date_from", "date_to")


@bp.get("/api/routes")
@endpoint("routes:read", query=RouteQuery, response=RouteOut, many=True)
def list_routes(query: dict[str, Any]) -> Any:
    """Routes by date and vehicle (the caller's vehicles, for a crew role), with their
    stops."""
    wanted = service.RouteFilter(**{k: query.get(k) for k in _FILTERS})
    page, per_page = query["page"], query["per_page"]
    routes, total = service.list_routes(db.session, current_actor(), wanted, page, per_page)
    return paginated(RouteOut().dump(routes, many=True), page, per_page, total)


@bp.post("/api/routes")
@endpoint("routes:write", body=RouteIn, response=RouteOut, status=201)
def create_route(body: dict[str, Any]) -> Any:
    """Plan a route: ordered stops for one vehicle and day, each cut into slots."""
    return created(RouteOut().dump(service.create_route(db.session, current_actor(), body)))


@bp.get("/api/routes/<route_id>")
@endpoint("routes:read", response=RouteOut)
def get_route(route_id: str) -> Any:
    """One route with its stops and their appointment slots."""
    return ok(RouteOut().dump(service.get_route(db.session, current_actor(), route_id)))


@bp.patch("/api/routes/<route_id>")
@endpoint("routes:write", body=RouteChange, response=RouteOut)
def update_route(route_id: str, body: dict[str, Any]) -> Any:
    """Rename a planned route, move it to another day, or replace its stops (409 while
    patients are booked on it)."""
    changed = service.update_route(db.session, current_actor(), route_id, body)
    return ok(RouteOut().dump(changed), "Route changed: the vehicle gets it at its next sync")


@bp.post("/api/routes/<route_id>/cancel")
@endpoint("routes:write", body=RouteCancel, body_optional=True, response=RouteOut)
def cancel_route(route_id: str, body: dict[str, Any]) -> Any:
    """Cancel a planned route; with patients booked, only with cancel_appointments."""
    cancelled = service.cancel_route(
        db.session, current_actor(), route_id, body["reason"], body["cancel_appointments"]
    )
    return ok(RouteOut().dump(cancelled), "Route cancelled")


@bp.get("/api/routes/export.csv")
@endpoint("routes:read", query=RouteQuery)
def export_routes(query: dict[str, Any]) -> Any:
    """Routes as a CSV file, one stop a line (the import's format)."""
    wanted = service.RouteFilter(**{k: query.get(k) for k in _FILTERS})
    routes = service.export_routes(db.session, current_actor(), wanted)
    return csvfile.attachment(routes, "routes.csv")


@bp.post("/api/routes/import")
@endpoint("routes:write")
def import_routes() -> Any:
    """Plan routes from a CSV file (text/csv, one stop a line); any bad line and nothing
    is imported."""
    required = [name for name in service.CSV_COLUMNS if not name.startswith("slot_")]
    parsed = csvfile.read(csvfile.request_text(), RouteCsvRow(), required)
    counts = service.import_routes(db.session, current_actor(), parsed)
    return ok(counts, f"Planned {counts['routes']} routes")
