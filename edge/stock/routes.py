"""The inventory API (seed 003 paths): thin over `edge.stock.service`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.stock import service
from edge.stock.schemas import (
    ItemOut,
    MovementIn,
    MovementOut,
    MovementQuery,
    ReceiptIn,
    StockAlertsOut,
    StockQuery,
    StocktakeIn,
    StocktakeOut,
    UsageIn,
)

bp = Blueprint("inventory", __name__)

_movement = MovementOut()


@bp.get("/api/inventory/stock")
@endpoint("inventory:read", query=StockQuery, response=ItemOut, many=True)
def list_stock(query: dict[str, Any]) -> Any:
    """Items with what is on hand (from the ledger) and their lots by expiry."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_stock(db.session, current_actor(), query, page, per_page)
    return paginated(ItemOut().dump(rows, many=True), page, per_page, total)


@bp.post("/api/inventory/stock")
@endpoint("inventory:write", body=ReceiptIn, response=MovementOut, status=201)
def receive_stock(body: dict[str, Any]) -> Any:
    """Receive a batch into stock (item, batch number, expiry, quantity)."""
    return created(
        _movement.dump(service.receive(db.session, current_actor(), body)), "Stock received"
    )


@bp.post("/api/inventory/usage")
@endpoint("inventory:write", body=UsageIn, response=MovementOut, many=True, status=201)
def record_usage(body: dict[str, Any]) -> Any:
    """Take stock out: from a lot, or from an item first-expiry-first-out; 409 if short."""
    movements = service.use(db.session, current_actor(), body)
    return created(_movement.dump(movements, many=True), "Usage recorded")


@bp.get("/api/inventory/alerts")
@endpoint("inventory:read", response=StockAlertsOut)
def stock_alerts() -> Any:
    """Items below their reorder level and lots expiring within 30, 60 or 90 days."""
    return ok(StockAlertsOut().dump(service.stock_alerts(db.session, current_actor())))


@bp.get("/api/inventory/movements")
@endpoint("inventory:read", query=MovementQuery, response=MovementOut, many=True)
def list_movements(query: dict[str, Any]) -> Any:
    """The stock ledger, newest first."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_movements(db.session, current_actor(), query, page, per_page)
    return paginated(_movement.dump(rows, many=True), page, per_page, total)


@bp.post("/api/inventory/movements")
@endpoint("inventory:write", body=MovementIn, response=MovementOut, status=201)
def record_movement(body: dict[str, Any]) -> Any:
    """An adjustment (with reason), transfer in or out, or wastage of one lot."""
    return created(
        _movement.dump(service.adjust(db.session, current_actor(), body)), "Movement recorded"
    )


@bp.post("/api/inventory/stocktake")
@endpoint("inventory:write", body=StocktakeIn, response=StocktakeOut, status=201)
def stocktake(body: dict[str, Any]) -> Any:
    """Record a stock count; lots that differ get adjustments with the reason given."""
    result = service.stocktake(db.session, current_actor(), body["counts"])
    return created(StocktakeOut().dump(result), "Stock count recorded")
