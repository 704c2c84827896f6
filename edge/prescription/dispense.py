"""Taking medicine from the vehicle's stock: first expiry, first out, never below zero.

Quantities on hand are the sum of the append-only `stock_movement` ledger per lot; the
movements themselves are written by the ledger (`edge.stock.service.issue_fefo`), one
negative movement per lot, in the caller's transaction; expired lots are never dispensed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.errors import Conflict
from edge.stock import service as stock
from schema.models import Lot, StockMovement

DISPENSE = "dispense"


@dataclass(frozen=True)
class Available:
    lot: Lot
    quantity: int


def available(session: Session, vehicle_id: str, item_id: str, today: dt.date) -> list[Available]:
    """The item's unexpired lots on this vehicle that hold stock, earliest expiry first."""
    held = func.coalesce(func.sum(StockMovement.quantity), 0)
    rows = session.execute(
        select(Lot, held)
        .join(StockMovement, StockMovement.lot_id == Lot.id)
        .where(Lot.vehicle_id == vehicle_id, Lot.item_id == item_id, Lot.expiry_date >= today)
        .group_by(Lot.id)
        .having(held > 0)
        .order_by(Lot.expiry_date, Lot.batch_number)
    ).all()
    return [Available(lot, int(quantity)) for lot, quantity in rows]


def on_hand(session: Session, vehicle_id: str, item_id: str, today: dt.date) -> int:
    return sum(a.quantity for a in available(session, vehicle_id, item_id, today))


def dispense(
    session: Session,
    *,
    vehicle_id: str,
    item_id: str,
    quantity: int,
    actor_id: str,
    reference_type: str,
    reference_id: str,
    today: dt.date,
) -> list[StockMovement]:
    """Write the dispense movements for `quantity` through the stock ledger (earliest
    expiry first, low-stock alerts); refuse (409) rather than take stock the vehicle does
    not hold."""
    held = on_hand(session, vehicle_id, item_id, today)
    if held < quantity:
        raise Conflict(f"Not enough stock: {held} on hand (unexpired), {quantity} needed")
    return stock.issue_fefo(
        session,
        vehicle_id=vehicle_id,
        item_id=item_id,
        quantity=quantity,
        actor_id=actor_id,
        kind=DISPENSE,
        reference_type=reference_type,
        reference_id=reference_id,
        today=today,
    )
