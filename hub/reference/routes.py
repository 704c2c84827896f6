"""`/api/formulary`, `/api/tariffs`, `/api/provinces`, `/api/locations` at head office."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import PageQuery, created, endpoint, ok, paginated
from common.database import db
from hub import csvfile
from hub.reference import service
from hub.reference.schemas import (
    ItemIn,
    ItemOut,
    ItemQuery,
    ItemUpdate,
    LocationIn,
    LocationOut,
    LocationQuery,
    LocationUpdate,
    ProvinceIn,
    ProvinceOut,
    TariffIn,
    TariffOut,
    TariffQuery,
    TariffUpdate,
)
from schema.models import Item, Location, Province, Tariff

bp = Blueprint("reference", __name__)


def _page(query: dict[str, Any], listing: Any, out: type[Any]) -> Any:
    page, per_page = query["page"], query["per_page"]
    rows, total = service.page_of(db.session, listing, page, per_page)
    return paginated(out().dump(rows, many=True), page, per_page, total)


@bp.get("/api/formulary")
@endpoint("reference:read", query=ItemQuery, response=ItemOut, many=True)
def list_items(query: dict[str, Any]) -> Any:
    """Formulary items by name; search by name or NAPPI code prefix."""
    listing = service.items(query.get("q"), query.get("kind"), query.get("active"))
    return _page(query, listing, ItemOut)


@bp.post("/api/formulary")
@endpoint("formulary:write", body=ItemIn, response=ItemOut, status=201)
def create_item(body: dict[str, Any]) -> Any:
    """Add an item to the formulary."""
    return created(ItemOut().dump(service.add(db.session, current_actor(), Item, body)))


@bp.put("/api/formulary/<item_id>")
@endpoint("formulary:write", body=ItemUpdate, response=ItemOut)
def update_item(item_id: str, body: dict[str, Any]) -> Any:
    """Change a formulary item (deactivate with active=false)."""
    item = service.change(db.session, current_actor(), Item, item_id, body)
    return ok(ItemOut().dump(item), "Item updated")


@bp.get("/api/formulary/export.csv")
@endpoint("reference:read")
def export_items() -> Any:
    """The whole formulary as a CSV file (the import's format)."""
    return csvfile.attachment(service.export_formulary(db.session), "formulary.csv")


@bp.post("/api/formulary/import")
@endpoint("formulary:write")
def import_items() -> Any:
    """Add or update items from a CSV file (text/csv); any bad row and nothing is imported."""
    parsed = csvfile.read(csvfile.request_text(), ItemIn(), ("name", "kind", "unit"))
    counts = service.import_formulary(db.session, current_actor(), parsed)
    return ok(counts, f"Imported {counts['created']} new and {counts['updated']} changed items")


@bp.get("/api/tariffs")
@endpoint("reference:read", query=TariffQuery, response=TariffOut, many=True)
def list_tariffs(query: dict[str, Any]) -> Any:
    """The tariff table for claim lines, by code."""
    return _page(query, service.tariffs(query.get("q"), query.get("active")), TariffOut)


@bp.post("/api/tariffs")
@endpoint("tariffs:write", body=TariffIn, response=TariffOut, status=201)
def create_tariff(body: dict[str, Any]) -> Any:
    """Add a tariff code and its price."""
    return created(TariffOut().dump(service.add(db.session, current_actor(), Tariff, body)))


@bp.put("/api/tariffs/<tariff_id>")
@endpoint("tariffs:write", body=TariffUpdate, response=TariffOut)
def update_tariff(tariff_id: str, body: dict[str, Any]) -> Any:
    """Change a tariff's description, price or active flag."""
    tariff = service.change(db.session, current_actor(), Tariff, tariff_id, body)
    return ok(TariffOut().dump(tariff), "Tariff updated")


@bp.get("/api/provinces")
@endpoint("reference:read", query=PageQuery, response=ProvinceOut, many=True)
def list_provinces(query: dict[str, Any]) -> Any:
    """Provinces, by name."""
    return _page(query, service.provinces(), ProvinceOut)


@bp.post("/api/provinces")
@endpoint("locations:write", body=ProvinceIn, response=ProvinceOut, status=201)
def create_province(body: dict[str, Any]) -> Any:
    """Add a province."""
    province = service.add(db.session, current_actor(), Province, body)
    return created(ProvinceOut().dump(province))


@bp.get("/api/locations")
@endpoint("reference:read", query=LocationQuery, response=LocationOut, many=True)
def list_locations(query: dict[str, Any]) -> Any:
    """Locations (clinic stops), by name."""
    listing = service.locations(query.get("q"), query.get("province_id"))
    return _page(query, listing, LocationOut)


@bp.post("/api/locations")
@endpoint("locations:write", body=LocationIn, response=LocationOut, status=201)
def create_location(body: dict[str, Any]) -> Any:
    """Add a location where vehicles stop."""
    location = service.add(db.session, current_actor(), Location, body)
    return created(LocationOut().dump(location))


@bp.put("/api/locations/<location_id>")
@endpoint("locations:write", body=LocationUpdate, response=LocationOut)
def update_location(location_id: str, body: dict[str, Any]) -> Any:
    """Change a location's name, address, province or position."""
    location = service.change(db.session, current_actor(), Location, location_id, body)
    return ok(LocationOut().dump(location), "Location updated")
