"""Supply requests from the vehicle to head office, and the deliveries that answer them.

The crew asks (pending); head office approves and dispatches a delivery (both arrive by
sync); the crew receives the delivery into stock as receipts of its batches, which
fulfils the request. A request can be cancelled until it is fulfilled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.database import committed
from common.errors import BadRequest, Conflict, NotFound
from edge.scope import owned, page_of, vehicle_of
from edge.stock.service import receive_lot
from schema.base import utcnow
from schema.models import Delivery, DeliveryLine, Item, SupplyRequest, SupplyRequestLine

PRIORITIES = ("routine", "urgent", "emergency")
STATUSES = ("pending", "approved", "fulfilled", "cancelled")
OPEN = ("pending", "approved")


def add_request(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Ask head office for items; each item once per request."""
    vehicle_id = vehicle_of(actor)
    lines = data["lines"]
    if len({line["item_id"] for line in lines}) != len(lines):
        raise BadRequest("Each item may appear once in a request")
    for line in lines:
        item = session.get(Item, line["item_id"])
        if item is None or not item.active:
            raise NotFound(f"Item {line['item_id']} not found")
    request = SupplyRequest(
        vehicle_id=vehicle_id,
        priority=data["priority"],
        reason=data.get("reason"),
        status="pending",
        requested_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(request)
    session.flush()
    for line in lines:
        session.add(
            SupplyRequestLine(
                supply_request_id=request.id,
                vehicle_id=vehicle_id,
                item_id=line["item_id"],
                quantity=line["quantity"],
            )
        )
    session.flush()
    return _saved(session, actor, "supply_requested", request)


def cancel_request(session: Session, actor: Actor, request_id: str) -> dict[str, Any]:
    request = owned(session, SupplyRequest, request_id, vehicle_of(actor), "Supply request")
    if request.status not in OPEN:
        raise Conflict(f"The request is already {request.status}")
    request.status, request.decided_by, request.decided_at = "cancelled", actor.user_id, utcnow()
    return _saved(session, actor, "supply_request_cancelled", request)


def list_requests(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(SupplyRequest).where(SupplyRequest.vehicle_id == vehicle_of(actor))
    if wanted.get("status"):
        query = query.where(SupplyRequest.status == wanted["status"])
    rows, total = page_of(session, query.order_by(SupplyRequest.created_at.desc()), page, per_page)
    return [request_view(session, r) for r in rows], total


def get_request(session: Session, actor: Actor, request_id: str) -> dict[str, Any]:
    request = owned(session, SupplyRequest, request_id, vehicle_of(actor), "Supply request")
    return request_view(session, request)


def list_deliveries(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(Delivery).where(Delivery.vehicle_id == vehicle_of(actor))
    if wanted.get("status"):
        query = query.where(Delivery.status == wanted["status"])
    rows, total = page_of(session, query.order_by(Delivery.created_at.desc()), page, per_page)
    return [delivery_view(session, d) for d in rows], total


def receive_delivery(session: Session, actor: Actor, delivery_id: str) -> dict[str, Any]:
    """Take a delivery's batches into stock (a receipt per line) and fulfil its request."""
    vehicle_id = vehicle_of(actor)
    delivery = owned(session, Delivery, delivery_id, vehicle_id, "Delivery")
    if delivery.status in ("received", "cancelled"):
        raise Conflict(f"The delivery is already {delivery.status}")
    for line in _delivery_lines(session, delivery.id):
        receive_lot(
            session,
            vehicle_id,
            actor.user_id,
            {
                "item_id": line.item_id,
                "batch_number": line.batch_number,
                "expiry_date": line.expiry_date,
                "quantity": line.quantity,
            },
            reference=("delivery", delivery.id),
        )
    now = utcnow()
    delivery.status, delivery.delivered_at, delivery.received_by = "received", now, actor.user_id
    if delivery.supply_request_id:
        request = session.get_one(SupplyRequest, delivery.supply_request_id)
        if request.status in OPEN:
            request.status = "fulfilled"
    audit.record(
        session, actor, "delivery_received", resource_type="delivery", resource_id=delivery.id
    )
    return committed(session, delivery_view(session, delivery))


def request_view(session: Session, request: SupplyRequest) -> dict[str, Any]:
    lines = session.scalars(
        select(SupplyRequestLine).where(SupplyRequestLine.supply_request_id == request.id)
    ).all()
    view = {
        n: getattr(request, n)
        for n in (
            "id",
            "vehicle_id",
            "priority",
            "reason",
            "status",
            "requested_by",
            "created_at",
            "decided_by",
            "decided_at",
        )
    }
    view["lines"] = _with_names(
        session, [{"item_id": line.item_id, "quantity": line.quantity} for line in lines]
    )
    return view


def delivery_view(session: Session, delivery: Delivery) -> dict[str, Any]:
    view = {
        n: getattr(delivery, n)
        for n in (
            "id",
            "supply_request_id",
            "vehicle_id",
            "supplier_id",
            "carrier",
            "tracking_number",
            "status",
            "created_at",
            "shipped_at",
            "delivered_at",
            "received_by",
        )
    }
    lines = [
        {
            "item_id": line.item_id,
            "batch_number": line.batch_number,
            "expiry_date": line.expiry_date,
            "quantity": line.quantity,
        }
        for line in _delivery_lines(session, delivery.id)
    ]
    view["lines"] = _with_names(session, lines)
    return view


def _delivery_lines(session: Session, delivery_id: str) -> Sequence[DeliveryLine]:
    return session.scalars(
        select(DeliveryLine)
        .where(DeliveryLine.delivery_id == delivery_id)
        .order_by(DeliveryLine.id)
    ).all()


def _with_names(session: Session, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {line["item_id"] for line in lines}
    names = dict(session.execute(select(Item.id, Item.name).where(Item.id.in_(ids))).all())
    return [{**line, "item_name": names.get(line["item_id"])} for line in lines]


def _saved(session: Session, actor: Actor, action: str, request: SupplyRequest) -> dict[str, Any]:
    audit.record(session, actor, action, resource_type="supply_request", resource_id=request.id)
    return committed(session, request_view(session, request))
