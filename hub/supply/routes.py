"""`/api/supply-requests` and `/api/deliveries`: head office decides and ships."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import endpoint, ok, paginated
from common.database import db
from hub.supply import service
from hub.supply.schemas import (
    Decision,
    DeliveryIn,
    DeliveryOut,
    DeliveryQuery,
    DeliveryStatusIn,
    Rejection,
    RequestOut,
    RequestQuery,
)

bp = Blueprint("supply", __name__)


def _filter(query: dict[str, Any]) -> service.SupplyFilter:
    return service.SupplyFilter(query.get("status"), query.get("vehicle_id"))


@bp.get("/api/supply-requests")
@endpoint("supply:read", query=RequestQuery, response=RequestOut, many=True)
def list_requests(query: dict[str, Any]) -> Any:
    """Supply requests from every vehicle (the caller's, for a crew role), by status and
    vehicle, oldest first."""
    page, per_page = query["page"], query["per_page"]
    wanted = _filter(query)
    rows, total = service.list_requests(db.session, current_actor(), wanted, page, per_page)
    return paginated(RequestOut().dump(rows, many=True), page, per_page, total)


@bp.get("/api/supply-requests/<request_id>")
@endpoint("supply:read", response=RequestOut)
def get_request(request_id: str) -> Any:
    """One supply request with its lines and deliveries."""
    return ok(RequestOut().dump(service.get_request(db.session, current_actor(), request_id)))


@bp.post("/api/supply-requests/<request_id>/approve")
@endpoint("supply:approve", body=Decision, body_optional=True, response=RequestOut)
def approve_request(request_id: str, body: dict[str, Any]) -> Any:
    """Approve a pending request."""
    row = service.approve(db.session, current_actor(), request_id, body.get("note"))
    return ok(RequestOut().dump(row), "Supply request approved")


@bp.post("/api/supply-requests/<request_id>/reject")
@endpoint("supply:approve", body=Rejection, response=RequestOut)
def reject_request(request_id: str, body: dict[str, Any]) -> Any:
    """Reject a pending request, saying why."""
    row = service.reject(db.session, current_actor(), request_id, body["reason"])
    return ok(RequestOut().dump(row), "Supply request rejected")


@bp.post("/api/supply-requests/<request_id>/deliveries")
@endpoint("supply:approve", body=DeliveryIn, response=RequestOut, status=201)
def fulfil_request(request_id: str, body: dict[str, Any]) -> Any:
    """Fulfil an approved request with a delivery: lots, expiry, carrier, tracking."""
    row = service.fulfil(db.session, current_actor(), request_id, body)
    return ok(RequestOut().dump(row), "Delivery created", 201)


@bp.get("/api/deliveries")
@endpoint("supply:read", query=DeliveryQuery, response=DeliveryOut, many=True)
def list_deliveries(query: dict[str, Any]) -> Any:
    """Deliveries to every vehicle (the caller's, for a crew role), newest first."""
    page, per_page = query["page"], query["per_page"]
    wanted = _filter(query)
    rows, total = service.list_deliveries(db.session, current_actor(), wanted, page, per_page)
    return paginated(DeliveryOut().dump(rows, many=True), page, per_page, total)


@bp.post("/api/deliveries/<delivery_id>/status")
@endpoint("supply:approve", body=DeliveryStatusIn, response=DeliveryOut)
def advance_delivery(delivery_id: str, body: dict[str, Any]) -> Any:
    """Mark a delivery shipped, then delivered (never backwards)."""
    delivery = service.advance_delivery(db.session, current_actor(), delivery_id, body)
    return ok(DeliveryOut().dump(delivery), f"Delivery {delivery['status']}")
