"""The locations API: thin over `edge.location.service`. Locations are head-office data
(`hub/reference`), read here."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.api import endpoint, ok, paginated
from common.database import db
from edge.location import service
from edge.location.schemas import LocationOut, LocationQuery, ProvinceOut

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
