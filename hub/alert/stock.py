"""Low-stock and expiry alerts raised at the hub from the fleet's stock ledger.

A vehicle's own checks (`edge.stock`) raise these as stock moves; the hub raises them too
so head office sees a vehicle running out even when nobody on board ran the daily check.
Both build the alert in `common.stockalert`, so an open alert with the same dedupe key
(synced from the vehicle, or raised by an earlier run) is kept, never doubled. Several
hub processes may run this at once: each claims vehicles with FOR UPDATE SKIP LOCKED, so
one vehicle's alerts are written by one process at a time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.stockalert import EXPIRY_HORIZON, expiry_alert, is_low, low_stock_alert
from hub.alert.job import Outcome
from hub.fleet.service import held_by_lot
from hub.scope import FLEET
from schema.models import Alert, Device, Item, Lot, Vehicle
from schema.models.alert import PRIORITIES


@dataclass
class _Holding:
    """What one vehicle holds: quantity per item, and its lots still held."""

    items: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lots: list[tuple[str, str, int, dt.date]] = field(default_factory=list)


def scan_stock(session: Session, today: dt.date, now: dt.datetime) -> Outcome:
    """Raise one alert per low item and per expiring lot on every enrolled vehicle; an
    open alert for the same condition is kept (its priority raised if now more urgent).
    Commits."""
    vehicles = _claimed_vehicles(session)
    holdings = _holdings(session)
    stocked = list(
        session.scalars(select(Item).where(Item.active.is_(True), Item.reorder_level > 0))
    )
    raised = 0
    for vehicle_id in vehicles:
        held = holdings.get(vehicle_id, _Holding())
        for fields in [*_low(stocked, held), *_expiring(session, held, today)]:
            raised += _raise(session, vehicle_id, fields, now)
    session.commit()
    return Outcome(raised=raised)


def _claimed_vehicles(session: Session) -> list[str]:
    enrolled = select(Device.vehicle_id).where(Device.status == "active")
    return list(
        session.scalars(
            select(Vehicle.id)
            .where(Vehicle.id.in_(enrolled), Vehicle.status == "active")
            .order_by(Vehicle.id)
            .with_for_update(skip_locked=True)
        )
    )


def _holdings(session: Session) -> dict[str, _Holding]:
    holdings: dict[str, _Holding] = defaultdict(_Holding)
    for (vehicle_id, item_id, lot_id), (quantity, expiry) in held_by_lot(session, FLEET).items():
        holding = holdings[vehicle_id]
        holding.items[item_id] += quantity
        if quantity > 0:
            holding.lots.append((lot_id, item_id, quantity, expiry))
    return holdings


def _low(items: list[Item], held: _Holding) -> list[dict[str, Any]]:
    return [
        low_stock_alert(item.id, item.name, item.unit, held.items.get(item.id, 0))
        for item in items
        if is_low(held.items.get(item.id, 0), item.reorder_level)
    ]


def _expiring(session: Session, held: _Holding, today: dt.date) -> list[dict[str, Any]]:
    found = []
    for lot_id, item_id, quantity, expiry in held.lots:
        if expiry - today <= EXPIRY_HORIZON:
            item, lot = session.get_one(Item, item_id), session.get_one(Lot, lot_id)
            days = (expiry - today).days
            found.append(expiry_alert(lot_id, item.name, lot.batch_number, days, quantity))
    return found


def _raise(session: Session, vehicle_id: str, fields: dict[str, Any], now: dt.datetime) -> int:
    """1 if a new alert was added, 0 if an open one already says it."""
    existing = session.scalar(
        select(Alert)
        .where(Alert.vehicle_id == vehicle_id, Alert.dedupe_key == fields["dedupe_key"])
        .where(Alert.status != "resolved")
        .limit(1)
    )
    if existing is not None:
        held = existing.priority  # synced from a vehicle: may be one we do not rank
        if held not in PRIORITIES or PRIORITIES.index(fields["priority"]) > PRIORITIES.index(held):
            existing.priority = fields["priority"]
        return 0
    session.add(
        Alert(vehicle_id=vehicle_id, status="active", escalation_level=0, created_at=now, **fields)
    )
    return 1
