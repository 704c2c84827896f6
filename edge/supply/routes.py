"""The supply API: requests to head office and deliveries received; thin over the service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.supply import service
from edge.supply.schemas import (
    DeliveryOut,
    DeliveryQuery,
    SupplyQuery,
    SupplyRequestIn,
    SupplyRequestOut,
)

bp = Blueprint("supply", __name__)

_out = SupplyRequestOut()


@bp.get("/api/supply-requests")
@endpoint("supply:read", query=SupplyQuery, response=SupplyRequestOut, many=True)
def list_requests(query: dict[str, Any]) -> Any:
    """This vehicle's supply requests, newest first."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_requests(db.session, current_actor(), query, page, per_page)
    return paginated(_out.dump(rows, many=True), page, per_page, total)


@bp.post("/api/supply-requests")
@endpoint("supply:write", body=SupplyRequestIn, response=SupplyRequestOut, status=201)
def create_request(body: dict[str, Any]) -> Any:
    """Ask head office for items (quantities, priority, reason)."""
    return created(
        _out.dump(service.add_request(db.session, current_actor(), body)), "Supply requested"
    )


@bp.get("/api/supply-requests/<request_id>")
@endpoint("supply:read", response=SupplyRequestOut)
def get_request(request_id: str) -> Any:
    """One supply request with its lines."""
    return ok(_out.dump(service.get_request(db.session, current_actor(), request_id)))


@bp.post("/api/supply-requests/<request_id>/cancel")
@endpoint("supply:write", response=SupplyRequestOut)
def cancel_request(request_id: str) -> Any:
    """Withdraw a request that has not been fulfilled."""
    return ok(
        _out.dump(service.cancel_request(db.session, current_actor(), request_id)),
        "Request cancelled",
    )


@bp.get("/api/deliveries")
@endpoint("supply:read", query=DeliveryQuery, response=DeliveryOut, many=True)
def list_deliveries(query: dict[str, Any]) -> Any:
    """Deliveries to this vehicle (made at head office, arrived by sync)."""
    page, per_page = query.pop("page"), query.pop("per_page")
    rows, total = service.list_deliveries(db.session, current_actor(), query, page, per_page)
    return paginated(DeliveryOut().dump(rows, many=True), page, per_page, total)


@bp.post("/api/deliveries/<delivery_id>/receive")
@endpoint("inventory:write", response=DeliveryOut)
def receive_delivery(delivery_id: str) -> Any:
    """Receive a delivery into stock: a receipt for each of its batches."""
    delivery = service.receive_delivery(db.session, current_actor(), delivery_id)
    return ok(DeliveryOut().dump(delivery), "Delivery received")
