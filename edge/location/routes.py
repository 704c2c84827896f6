"""The locations API: thin over `edge.location.service`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.location import service
from edge.location.schemas import LocationIn, LocationOut, LocationQuery, ProvinceOut

bp = Blueprint("locations", __name__)

_out = LocationOut()


@bp.get("/api/provinces")
@endpoint("routes:read", response=ProvinceOut, many=True)
def list_provinces() -> Any:
    """Provinces, for choosing where a location is."""
    return ok(ProvinceOut().dump(service.provinces(db.session), many=True))


@bp.get("/api/locations")
@endpoint("routes:read", query=LocationQuery, response=LocationOut, many=True)
def list_locations(query: dict[str, Any]) -> Any:
    """Locations (clinic stops), by name."""
    page, per_page = query["page"], query["per_page"]
    rows, total = service.list_locations(db.session, query.get("province_id"), page, per_page)
    return paginated(_out.dump(rows, many=True), page, per_page, total)


@bp.post("/api/locations")
@endpoint("locations:write", body=LocationIn, response=LocationOut, status=201)
def create_location(body: dict[str, Any]) -> Any:
    """Add a location (name, address, GPS) in a province."""
    return created(
        _out.dump(service.add_location(db.session, current_actor(), body)), "Location created"
    )
