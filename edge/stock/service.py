"""Stock on the vehicle: lots, the append-only movement ledger, and what is on hand.

Quantities on hand are the ledger's sums. `stock_level` keeps them per lot, maintained by
a database trigger on every ledger insert (migration 0005), so movements that arrive by
sync count too; `rebuild_levels` recomputes it from the ledger. A movement that would
take a lot below zero is refused (409); issues take the lot that expires first (FEFO).

Other code records stock with `record_movement` (one lot) or `issue_fefo` (an item, from
the earliest-expiring lots); both join the caller's transaction, which on the edge holds
SQLite's write lock from its first statement, so the check and the write cannot race.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.database import committed
from common.errors import BadRequest, Conflict, NotFound
from common.stockalert import EXPIRY_HORIZON, expiry_alert, expiry_band, is_low, low_stock_alert
from edge.alert.service import raise_alert
from edge.scope import owned, page_of, vehicle_of
from schema.base import new_id, utcnow
from schema.models import Item, Lot, StockLevel, StockMovement
from schema.rowid import named_id

INBOUND = ("receipt", "transfer_in")
OUTBOUND = ("dispense", "transfer_out", "wastage", "expired")
KINDS = (*INBOUND, *OUTBOUND, "adjustment")
NEEDS_REASON = ("adjustment", "wastage", "expired")


def record_movement(
    session: Session,
    *,
    vehicle_id: str,
    lot_id: str,
    kind: str,
    quantity: int,
    actor_id: str,
    reason: str | None = None,
    reference_type: str | None = None,
    reference_id: str | None = None,
) -> StockMovement:
    """Add one ledger entry in the caller's transaction (not committed here).

    `quantity` is signed: positive for receipts and transfers in, negative for dispensing,
    transfers out, wastage and expiry, either for adjustments. Raises BadRequest for a
    sign or reason that does not fit the kind, NotFound for another vehicle's lot and
    Conflict (409) when the lot would go below zero. Raises a low-stock alert when an
    item falls below its reorder level."""
    _check_kind(kind, quantity, reason)
    lot = owned(session, Lot, lot_id, vehicle_id, "Lot")
    if lot_on_hand(session, lot.id) + quantity < 0:
        raise Conflict(f"Only {lot_on_hand(session, lot.id)} left in batch {lot.batch_number}")
    movement = StockMovement(
        vehicle_id=vehicle_id,
        item_id=lot.item_id,
        lot_id=lot.id,
        kind=kind,
        quantity=quantity,
        reason=reason,
        reference_type=reference_type,
        reference_id=reference_id,
        actor_id=actor_id,
        occurred_at=utcnow(),
    )
    session.add(movement)
    session.flush()  # the trigger moves stock_level now
    if quantity < 0:
        check_low_stock(session, vehicle_id, lot.item_id)
    return movement


def issue_fefo(
    session: Session,
    *,
    vehicle_id: str,
    item_id: str,
    quantity: int,
    actor_id: str,
    kind: str = "dispense",
    reason: str | None = None,
    reference_type: str | None = None,
    reference_id: str | None = None,
    today: dt.date | None = None,
) -> list[StockMovement]:
    """Take `quantity` (positive) of an item from its unexpired lots, earliest expiry first;
    409 when there is not enough, and then nothing is taken."""
    if quantity <= 0:
        raise BadRequest("Quantity must be positive")
    if kind not in OUTBOUND:
        raise BadRequest(f"{kind} does not take stock out")
    lots = usable_lots(session, vehicle_id, item_id, today or dt.date.today())
    available = sum(left for _, left in lots)
    if available < quantity:
        raise Conflict(f"Only {available} in stock that has not expired")
    movements, wanted = [], quantity
    for lot, left in lots:
        take = min(left, wanted)
        movements.append(
            record_movement(
                session,
                vehicle_id=vehicle_id,
                lot_id=lot.id,
                kind=kind,
                quantity=-take,
                actor_id=actor_id,
                reason=reason,
                reference_type=reference_type,
                reference_id=reference_id,
            )
        )
        wanted -= take
        if wanted == 0:
            break
    return movements


def usable_lots(
    session: Session, vehicle_id: str, item_id: str, today: dt.date
) -> list[tuple[Lot, int]]:
    """Lots of an item with stock and not yet expired, in the order they should be used."""
    query = (
        select(Lot, StockLevel.quantity)
        .join(StockLevel, StockLevel.lot_id == Lot.id)
        .where(
            Lot.vehicle_id == vehicle_id,
            Lot.item_id == item_id,
            Lot.expiry_date >= today,
            StockLevel.quantity > 0,
        )
        .order_by(Lot.expiry_date, Lot.created_at, Lot.batch_number)
        .with_for_update()
    )
    return [(lot, left) for lot, left in session.execute(query)]


def lot_on_hand(session: Session, lot_id: str) -> int:
    query = select(StockLevel.quantity).where(StockLevel.lot_id == lot_id).with_for_update()
    return session.scalar(query) or 0


def item_on_hand(session: Session, vehicle_id: str, item_id: str) -> int:
    query = select(func.coalesce(func.sum(StockLevel.quantity), 0)).where(
        StockLevel.vehicle_id == vehicle_id, StockLevel.item_id == item_id
    )
    return int(session.scalar(query) or 0)


def ledger_levels(session: Session, vehicle_id: str | None = None) -> dict[str, int]:
    """Quantity per lot summed straight from the ledger (the truth `stock_level` mirrors)."""
    query = select(StockMovement.lot_id, func.sum(StockMovement.quantity)).group_by(
        StockMovement.lot_id
    )
    if vehicle_id is not None:
        query = query.where(StockMovement.vehicle_id == vehicle_id)
    return {lot_id: int(total) for lot_id, total in session.execute(query)}


def rebuild_levels(session: Session) -> int:
    """Recompute `stock_level` from the ledger (after a restore, or if ever in doubt);
    joins the caller's transaction. Returns how many lots it holds."""
    session.execute(delete(StockLevel))
    summed = select(
        StockMovement.lot_id,
        func.min(StockMovement.vehicle_id),
        func.min(StockMovement.item_id),
        func.sum(StockMovement.quantity),
    ).group_by(StockMovement.lot_id)
    columns = ["lot_id", "vehicle_id", "item_id", "quantity"]
    session.execute(insert(StockLevel).from_select(columns, summed))
    return session.scalar(select(func.count()).select_from(StockLevel)) or 0


def check_low_stock(session: Session, vehicle_id: str, item_id: str) -> None:
    item = session.get_one(Item, item_id)
    left = item_on_hand(session, vehicle_id, item_id)
    if is_low(left, item.reorder_level):
        raise_alert(
            session, vehicle_id=vehicle_id, **low_stock_alert(item.id, item.name, item.unit, left)
        )


# ---------------------------------------------------------------- use cases of the API


def receive(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Take stock into the vehicle: the batch's lot (made on first receipt) and a receipt."""
    vehicle_id = vehicle_of(actor)
    movement = receive_lot(session, vehicle_id, actor.user_id, data)
    audit.record(session, actor, "stock_received", resource_type="lot", resource_id=movement.lot_id)
    return committed(session, movement_view(session, movement))


def receive_lot(
    session: Session,
    vehicle_id: str,
    actor_id: str,
    data: Mapping[str, Any],
    reference: tuple[str, str] | None = None,
) -> StockMovement:
    """A receipt of one batch (item, batch number, expiry, quantity) into its lot."""
    item = session.get(Item, data["item_id"])
    if item is None or not item.active:
        raise NotFound(f"Item {data['item_id']} not found")
    if data["expiry_date"] < dt.date.today():
        raise Conflict(f"Batch {data['batch_number']} expired on {data['expiry_date']}")
    lot = session.scalar(
        select(Lot).filter_by(
            vehicle_id=vehicle_id, item_id=item.id, batch_number=data["batch_number"]
        )
    )
    if lot is None:
        lot = Lot(
            id=named_id("lot", vehicle_id, item.id, data["batch_number"]),
            item_id=item.id,
            vehicle_id=vehicle_id,
            batch_number=data["batch_number"],
            expiry_date=data["expiry_date"],
            created_at=utcnow(),
        )
        session.add(lot)
        session.flush()
    elif lot.expiry_date != data["expiry_date"]:
        raise Conflict(f"Batch {lot.batch_number} is already held with expiry {lot.expiry_date}")
    reference_type, reference_id = reference or (None, None)
    return record_movement(
        session,
        vehicle_id=vehicle_id,
        lot_id=lot.id,
        kind="receipt",
        quantity=data["quantity"],
        actor_id=actor_id,
        reason=data.get("reason"),
        reference_type=reference_type,
        reference_id=reference_id,
    )


def use(session: Session, actor: Actor, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Record usage: from a named lot, or from the item's lots first-expiry-first-out."""
    vehicle_id = vehicle_of(actor)
    common = {"vehicle_id": vehicle_id, "actor_id": actor.user_id, "reason": data.get("reason")}
    if data.get("lot_id"):
        movements = [
            record_movement(
                session,
                lot_id=data["lot_id"],
                kind=data["kind"],
                quantity=-data["quantity"],
                **common,
            )
        ]
    else:
        movements = issue_fefo(
            session, item_id=data["item_id"], quantity=data["quantity"], kind=data["kind"], **common
        )
    audit.record(
        session,
        actor,
        "stock_used",
        resource_type="item",
        resource_id=movements[0].item_id,
        detail={"movements": [m.id for m in movements]},
    )
    return committed(session, [movement_view(session, m) for m in movements])


def adjust(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """An adjustment, transfer or wastage of one lot, with its reason."""
    movement = record_movement(
        session,
        vehicle_id=vehicle_of(actor),
        lot_id=data["lot_id"],
        kind=data["kind"],
        quantity=data["quantity"],
        actor_id=actor.user_id,
        reason=data.get("reason"),
    )
    audit.record(session, actor, "stock_moved", resource_type="lot", resource_id=movement.lot_id)
    return committed(session, movement_view(session, movement))


def stocktake(
    session: Session, actor: Actor, counts: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Record a count: each lot whose count differs gets an adjustment with the reason."""
    vehicle_id = vehicle_of(actor)
    if len({c["lot_id"] for c in counts}) != len(counts):
        raise BadRequest("Each lot may be counted once per stocktake")
    count_id = new_id()
    movements = []
    for count in counts:
        lot = owned(session, Lot, count["lot_id"], vehicle_id, "Lot")
        difference = count["counted"] - lot_on_hand(session, lot.id)
        if difference:
            movements.append(
                record_movement(
                    session,
                    vehicle_id=vehicle_id,
                    lot_id=lot.id,
                    kind="adjustment",
                    quantity=difference,
                    actor_id=actor.user_id,
                    reason=count.get("reason") or "stock count",
                    reference_type="stocktake",
                    reference_id=count_id,
                )
            )
    audit.record(
        session,
        actor,
        "stocktake",
        resource_type="stocktake",
        resource_id=count_id,
        detail={"lots": len(counts), "adjusted": len(movements)},
    )
    return committed(
        session,
        {
            "id": count_id,
            "counted": len(counts),
            "adjustments": [movement_view(session, m) for m in movements],
        },
    )


def list_stock(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Items with what is on hand, their reorder level and their lots (by expiry)."""
    vehicle_id = vehicle_of(actor)
    on_hand = (
        select(func.coalesce(func.sum(StockLevel.quantity), 0))
        .where(StockLevel.vehicle_id == vehicle_id, StockLevel.item_id == Item.id)
        .scalar_subquery()
    )
    query = select(Item, on_hand).where(Item.active.is_(True))
    if wanted.get("q"):
        text = wanted["q"].lower()
        query = query.where(
            func.lower(Item.name).contains(text, autoescape=True) | (Item.nappi_code == wanted["q"])
        )
    if wanted.get("low_only"):
        query = query.where(on_hand < Item.reorder_level)
    rows, total = page_of(session, query.order_by(Item.name), page, per_page)
    lots = _lots_of(session, vehicle_id, [item.id for item, _ in rows])
    today = dt.date.today()
    return [_item_view(item, int(left), lots.get(item.id, []), today) for item, left in rows], total


def list_movements(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """The ledger, newest first."""
    query = select(StockMovement).where(StockMovement.vehicle_id == vehicle_of(actor))
    for name in ("item_id", "lot_id", "kind"):
        if wanted.get(name):
            query = query.where(getattr(StockMovement, name) == wanted[name])
    order = (StockMovement.occurred_at.desc(), StockMovement.id.desc())
    rows, total = page_of(session, query.order_by(*order), page, per_page)
    return [movement_view(session, m) for m in rows], total


def stock_alerts(session: Session, actor: Actor, today: dt.date | None = None) -> dict[str, Any]:
    """What needs attention now: items below their reorder level, and lots with stock that
    expire within 90 days (banded 30/60/90) or have expired."""
    return conditions(session, vehicle_of(actor), today or dt.date.today())


def conditions(session: Session, vehicle_id: str, today: dt.date) -> dict[str, Any]:
    on_hand = func.coalesce(func.sum(StockLevel.quantity), 0)
    low = session.execute(
        select(Item, on_hand)
        .outerjoin(
            StockLevel,
            (StockLevel.item_id == Item.id) & (StockLevel.vehicle_id == vehicle_id),
        )
        .where(Item.active.is_(True), Item.reorder_level > 0)
        .group_by(Item.id)
        .having(on_hand < Item.reorder_level)
        .order_by(Item.name)
    ).all()
    expiring = session.execute(
        select(Lot, Item, StockLevel.quantity)
        .join(StockLevel, StockLevel.lot_id == Lot.id)
        .join(Item, Item.id == Lot.item_id)
        .where(
            Lot.vehicle_id == vehicle_id,
            StockLevel.quantity > 0,
            Lot.expiry_date <= today + EXPIRY_HORIZON,
        )
        .order_by(Lot.expiry_date)
    ).all()
    return {
        "low_stock": [
            {"item_id": i.id, "name": i.name, "on_hand": int(n), "reorder_level": i.reorder_level}
            for i, n in low
        ],
        "expiring": [_expiry_view(lot, item, left, today) for lot, item, left in expiring],
    }


def scan(session: Session, vehicle_id: str, today: dt.date) -> int:
    """Raise (deduplicated) alerts for every low-stock item and expiring lot; the daily
    job calls this. Joins the caller's transaction; returns how many conditions it saw."""
    found = conditions(session, vehicle_id, today)
    for low in found["low_stock"]:
        check_low_stock(session, vehicle_id, low["item_id"])
    for lot in found["expiring"]:
        fields = expiry_alert(
            lot["lot_id"], lot["name"], lot["batch_number"], lot["days_to_expiry"], lot["quantity"]
        )
        raise_alert(session, vehicle_id=vehicle_id, **fields)
    return len(found["low_stock"]) + len(found["expiring"])


def movement_view(session: Session, movement: StockMovement) -> dict[str, Any]:
    return {
        "id": movement.id,
        "item_id": movement.item_id,
        "lot_id": movement.lot_id,
        "kind": movement.kind,
        "quantity": movement.quantity,
        "reason": movement.reason,
        "reference_type": movement.reference_type,
        "reference_id": movement.reference_id,
        "actor_id": movement.actor_id,
        "occurred_at": movement.occurred_at,
        "lot_on_hand": lot_on_hand(session, movement.lot_id),
    }


def _check_kind(kind: str, quantity: int, reason: str | None) -> None:
    if kind not in KINDS:
        raise BadRequest(f"Unknown movement kind {kind!r}")
    if quantity == 0:
        raise BadRequest("A movement must change the quantity")
    if kind in INBOUND and quantity < 0 or kind in OUTBOUND and quantity > 0:
        raise BadRequest(
            f"A {kind.replace('_', ' ')} must {'add' if kind in INBOUND else 'take'} stock"
        )
    if kind in NEEDS_REASON and not (reason or "").strip():
        raise BadRequest(f"A {kind} needs a reason")


def _lots_of(session: Session, vehicle_id: str, item_ids: Sequence[str]) -> dict[str, list[Any]]:
    rows = session.execute(
        select(Lot, StockLevel.quantity)
        .join(StockLevel, StockLevel.lot_id == Lot.id)
        .where(Lot.vehicle_id == vehicle_id, Lot.item_id.in_(item_ids), StockLevel.quantity > 0)
        .order_by(Lot.expiry_date, Lot.batch_number)
    ).all()
    lots: dict[str, list[Any]] = {}
    for lot, left in rows:
        lots.setdefault(lot.item_id, []).append((lot, left))
    return lots


def _item_view(item: Item, on_hand: int, lots: list[Any], today: dt.date) -> dict[str, Any]:
    return {
        "id": item.id,
        "nappi_code": item.nappi_code,
        "name": item.name,
        "kind": item.kind,
        "strength": item.strength,
        "unit": item.unit,
        "reorder_level": item.reorder_level,
        "on_hand": on_hand,
        "low": is_low(on_hand, item.reorder_level),
        "lots": [
            {
                "id": lot.id,
                "batch_number": lot.batch_number,
                "expiry_date": lot.expiry_date,
                "quantity": left,
                "days_to_expiry": (lot.expiry_date - today).days,
            }
            for lot, left in lots
        ],
    }


def _expiry_view(lot: Lot, item: Item, left: int, today: dt.date) -> dict[str, Any]:
    days = (lot.expiry_date - today).days
    band, priority = expiry_band(days)
    return {
        "lot_id": lot.id,
        "item_id": item.id,
        "name": item.name,
        "batch_number": lot.batch_number,
        "expiry_date": lot.expiry_date,
        "quantity": left,
        "days_to_expiry": days,
        "band": band,
        "priority": priority,
    }
