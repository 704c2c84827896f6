"""The assets and suppliers API (seed 003 asset paths): thin over `edge.asset.service`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import PageQuery, created, endpoint, ok, paginated
from common.database import db
from edge.asset import service
from edge.asset.schemas import (
    AssetIn,
    AssetOut,
    AssetQuery,
    AssetStatusIn,
    MaintenanceIn,
    SupplierIn,
    SupplierOut,
)

bp = Blueprint("assets", __name__)

_out = AssetOut()


@bp.get("/api/assets")
@endpoint("assets:read", query=AssetQuery, response=AssetOut, many=True)
def list_assets(query: dict[str, Any]) -> Any:
    """This vehicle's equipment, with whether maintenance is due."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_assets(db.session, current_actor(), query, page, per_page)
    return paginated(_out.dump(rows, many=True), page, per_page, total)


@bp.post("/api/assets")
@endpoint("assets:write", body=AssetIn, response=AssetOut, status=201)
def create_asset(body: dict[str, Any]) -> Any:
    """Add equipment (serial number, category, status, maintenance interval)."""
    return created(_out.dump(service.add_asset(db.session, current_actor(), body)), "Asset created")


@bp.get("/api/assets/<asset_id>")
@endpoint("assets:read", response=AssetOut)
def get_asset(asset_id: str) -> Any:
    """One asset with its maintenance log."""
    return ok(_out.dump(service.get_asset(db.session, current_actor(), asset_id)))


@bp.post("/api/assets/<asset_id>/status")
@endpoint("assets:write", body=AssetStatusIn, response=AssetOut)
def set_status(asset_id: str, body: dict[str, Any]) -> Any:
    """Mark an asset in service, needing repair or retired."""
    asset = service.set_status(db.session, current_actor(), asset_id, body["status"])
    return ok(_out.dump(asset), "Asset updated")


@bp.post("/api/assets/<asset_id>/maintenance")
@endpoint("assets:write", body=MaintenanceIn, response=AssetOut, status=201)
def log_maintenance(asset_id: str, body: dict[str, Any]) -> Any:
    """Record maintenance done; the next due date moves on."""
    asset = service.log_maintenance(db.session, current_actor(), asset_id, body)
    return created(_out.dump(asset), "Maintenance recorded")


@bp.get("/api/suppliers")
@endpoint("assets:read", query=PageQuery, response=SupplierOut, many=True)
def list_suppliers(query: dict[str, Any]) -> Any:
    """Suppliers of equipment and stock, by name."""
    rows, total = service.list_suppliers(db.session, query["page"], query["per_page"])
    return paginated(SupplierOut().dump(rows, many=True), query["page"], query["per_page"], total)


@bp.post("/api/suppliers")
@endpoint("assets:write", body=SupplierIn, response=SupplierOut, status=201)
def create_supplier(body: dict[str, Any]) -> Any:
    """Add a supplier."""
    return created(
        SupplierOut().dump(service.add_supplier(db.session, current_actor(), body)),
        "Supplier created",
    )
