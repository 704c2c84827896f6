"""Head office's side of supply: decide on vehicles' requests and ship deliveries.

A request moves pending → approved (or rejected) → fulfilled when a delivery is made for
it; a delivery moves pending → shipped → delivered. Each decision locks the row first
(SELECT ... FOR UPDATE), so two hub processes cannot decide or fulfil the same request
twice. Requests, deliveries and their lines are the vehicle's synced rows: the vehicle
sees the decision and the delivery at its next sync and receives the lots into stock.
A caller sees and decides only on the vehicles in their reach (`hub.scope`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict
from hub.scope import Reach, owned, reach
from schema.base import utcnow
from schema.models import (
    Delivery,
    DeliveryLine,
    Item,
    SupplyRequest,
    SupplyRequestLine,
    Vehicle,
)

_REQUEST = "supply request"
OPEN = "open"  # a request filter: pending or approved, still needing head office
NEXT_DELIVERY_STATUS = {"pending": "shipped", "shipped": "delivered"}


@dataclass(frozen=True)
class SupplyFilter:
    status: str | None = None
    vehicle_id: str | None = None


def list_requests(
    session: Session, who: Actor | Reach, wanted: SupplyFilter, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Requests from the vehicles in reach, oldest pending first within each status."""
    query = _filtered(reach(session, who), select(SupplyRequest), SupplyRequest, wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(SupplyRequest.created_at, SupplyRequest.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [request_view(session, row) for row in rows], total


def get_request(session: Session, who: Actor | Reach, request_id: str) -> dict[str, Any]:
    within = reach(session, who)
    return request_view(session, owned(session, SupplyRequest, request_id, within, _REQUEST))


def approve(session: Session, actor: Actor, request_id: str, note: str | None) -> dict[str, Any]:
    """Approve a pending request, once, whichever hub process gets there first."""
    row = _decide(session, actor, request_id, "approved")
    detail = {"note": note} if note else None
    return _saved(session, actor, "supply_request_approved", row, detail)


def reject(session: Session, actor: Actor, request_id: str, reason: str) -> dict[str, Any]:
    row = _decide(session, actor, request_id, "rejected")
    return _saved(session, actor, "supply_request_rejected", row, {"reason": reason})


def fulfil(
    session: Session, actor: Actor, request_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Ship an approved request as a delivery of given lots; the request is fulfilled."""
    row = _locked(session, actor, request_id)
    if row.status != "approved":
        raise Conflict(f"Only an approved request can be fulfilled; this one is {row.status}")
    _check_lines(session, data["lines"])
    delivery = Delivery(
        supply_request_id=row.id,
        vehicle_id=row.vehicle_id,
        carrier=data.get("carrier"),
        tracking_number=data.get("tracking_number"),
        status="pending",
        created_by=actor.user_id,
        created_at=utcnow(),
    )
    session.add(delivery)
    session.flush()
    for line in data["lines"]:
        session.add(DeliveryLine(delivery_id=delivery.id, vehicle_id=row.vehicle_id, **line))
    row.status = "fulfilled"
    detail = {"delivery_id": delivery.id, "lines": len(data["lines"])}
    return _saved(session, actor, "supply_request_fulfilled", row, detail)


def list_deliveries(
    session: Session, who: Actor | Reach, wanted: SupplyFilter, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Deliveries to the vehicles in reach, newest first."""
    query = _filtered(reach(session, who), select(Delivery), Delivery, wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Delivery.created_at.desc(), Delivery.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [delivery_view(session, row) for row in rows], total


def advance_delivery(
    session: Session, actor: Actor, delivery_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Move a delivery one step on (pending → shipped → delivered), never back."""
    within = reach(session, actor)
    delivery = owned(session, Delivery, delivery_id, within, "delivery", lock=True)
    wanted = data["status"]
    if NEXT_DELIVERY_STATUS.get(delivery.status) != wanted:
        raise Conflict(f"A {delivery.status} delivery cannot become {wanted}")
    delivery.status = wanted
    for name in ("carrier", "tracking_number"):
        if name in data:
            setattr(delivery, name, data[name])
    if wanted == "shipped":
        delivery.shipped_at = utcnow()
    else:
        delivery.delivered_at = utcnow()
    audit.record(
        session,
        actor,
        f"delivery_{wanted}",
        resource_type="delivery",
        resource_id=delivery.id,
        detail={"tracking_number": delivery.tracking_number},
    )
    session.commit()
    return delivery_view(session, delivery)


def request_view(session: Session, row: SupplyRequest) -> dict[str, Any]:
    lines = session.execute(
        select(SupplyRequestLine.item_id, Item.name, SupplyRequestLine.quantity)
        .join(Item, Item.id == SupplyRequestLine.item_id)
        .where(SupplyRequestLine.supply_request_id == row.id)
        .order_by(Item.name)
    ).all()
    deliveries = session.scalars(
        select(Delivery).filter_by(supply_request_id=row.id).order_by(Delivery.created_at)
    ).all()
    return {
        **_columns(row),
        "vehicle_name": _vehicle_name(session, row.vehicle_id),
        "lines": [{"item_id": i, "item_name": n, "quantity": q} for i, n, q in lines],
        "deliveries": [delivery_view(session, d) for d in deliveries],
    }


def delivery_view(session: Session, delivery: Delivery) -> dict[str, Any]:
    lines = session.execute(
        select(DeliveryLine, Item.name)
        .join(Item, Item.id == DeliveryLine.item_id)
        .where(DeliveryLine.delivery_id == delivery.id)
        .order_by(Item.name, DeliveryLine.batch_number)
    ).all()
    return {
        **_columns(delivery),
        "vehicle_name": _vehicle_name(session, delivery.vehicle_id),
        "lines": [{**_columns(line), "item_name": name} for line, name in lines],
    }


def _decide(session: Session, actor: Actor, request_id: str, status: str) -> SupplyRequest:
    row = _locked(session, actor, request_id)
    if row.status != "pending":
        raise Conflict(f"This request is already {row.status}")
    row.status, row.decided_by, row.decided_at = status, actor.user_id, utcnow()
    return row


def _locked(session: Session, actor: Actor, request_id: str) -> SupplyRequest:
    within = reach(session, actor)
    return owned(session, SupplyRequest, request_id, within, _REQUEST, lock=True)


def _check_lines(session: Session, lines: Sequence[Mapping[str, Any]]) -> None:
    today = utcnow().date()
    problems: dict[str, list[str]] = {}
    for number, line in enumerate(lines):
        if session.get(Item, line["item_id"]) is None:
            problems[f"lines.{number}.item_id"] = ["No such item"]
        if line["expiry_date"] <= today:
            problems[f"lines.{number}.expiry_date"] = ["Already expired"]
    if problems:
        raise BadRequest("Invalid input", details=problems)


def _saved(
    session: Session,
    actor: Actor,
    action: str,
    row: SupplyRequest,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    audit.record(
        session,
        actor,
        action,
        resource_type="supply_request",
        resource_id=row.id,
        detail=detail,
    )
    session.commit()
    return request_view(session, row)


def _filtered(within: Reach, query: Select[Any], model: Any, wanted: SupplyFilter) -> Select[Any]:
    query = within.narrowed(wanted.vehicle_id).where(query, model.vehicle_id)
    if wanted.status == OPEN:
        query = query.where(model.status.in_(("pending", "approved")))
    elif wanted.status:
        query = query.where(model.status == wanted.status)
    return query


def _vehicle_name(session: Session, vehicle_id: str) -> str:
    vehicle = session.get(Vehicle, vehicle_id)
    return vehicle.name if vehicle is not None else vehicle_id


def _columns(row: Any) -> dict[str, Any]:
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}
