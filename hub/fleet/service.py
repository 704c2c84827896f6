"""Each vehicle's sync health (from its devices and the hub's sync links) and the stock
every vehicle holds, derived from the movement ledger (never a stored quantity); each
caller sees the vehicles in their reach (`hub.scope`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.access import Actor
from common.stockalert import EXPIRY_HORIZON, is_low
from hub.scope import Reach, reach
from schema.models import Alert, Device, Item, Lot, StockMovement, SyncLink, Vehicle


@dataclass(frozen=True)
class Health:
    """How old a vehicle's last successful sync may be before it shows amber, then red."""

    amber_after: dt.timedelta
    red_after: dt.timedelta

    def colour(self, lag: dt.timedelta | None) -> str:
        if lag is None or lag >= self.red_after:
            return "red"
        return "amber" if lag >= self.amber_after else "green"


def health_of(config: Mapping[str, Any]) -> Health:
    """The sync-health thresholds of a hub's configuration (HUB_SYNC_AMBER_HOURS, _RED_)."""
    return Health(
        dt.timedelta(hours=int(config.get("SYNC_AMBER_HOURS", 24))),
        dt.timedelta(hours=int(config.get("SYNC_RED_HOURS", 72))),
    )


def last_syncs(session: Session) -> dict[str, dt.datetime]:
    """Each vehicle's most recent successful sync by any of its active devices."""
    by_link = (
        select(Device.vehicle_id, func.max(SyncLink.last_success_at))
        .join(SyncLink, SyncLink.peer == Device.id)
        .where(Device.status == "active")
        .group_by(Device.vehicle_id)
    )
    by_device = (
        select(Device.vehicle_id, func.max(Device.last_sync_at))
        .where(Device.status == "active")
        .group_by(Device.vehicle_id)
    )
    latest: dict[str, dt.datetime] = {}
    for vehicle_id, at in [*session.execute(by_link), *session.execute(by_device)]:
        if at is not None:
            at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
            latest[vehicle_id] = max(at, latest.get(vehicle_id, at))
    return latest


def fleet(
    session: Session, who: Actor | Reach, health: Health, now: dt.datetime
) -> list[dict[str, Any]]:
    """Every vehicle in reach with its last sync, lag, health colour and open alerts (of
    the kinds in reach), by name."""
    within = reach(session, who)
    latest = last_syncs(session)
    alerts = dict(
        session.execute(
            within.alerts(select(Alert.vehicle_id, func.count()))
            .where(Alert.status.in_(("active", "acknowledged")))
            .group_by(Alert.vehicle_id)
        ).all()
    )
    devices = dict(
        session.execute(
            select(Device.vehicle_id, func.count())
            .where(Device.status == "active")
            .group_by(Device.vehicle_id)
        ).all()
    )
    rows = []
    for vehicle in session.scalars(
        within.where(select(Vehicle), Vehicle.id).order_by(Vehicle.name)
    ):
        last = latest.get(vehicle.id)
        lag = now - last if last is not None else None
        rows.append(
            {
                "id": vehicle.id,
                "name": vehicle.name,
                "registration_plate": vehicle.registration_plate,
                "status": vehicle.status,
                "devices": devices.get(vehicle.id, 0),
                "last_sync_at": last,
                "lag_seconds": int(lag.total_seconds()) if lag is not None else None,
                "health": health.colour(lag),
                "open_alerts": alerts.get(vehicle.id, 0),
            }
        )
    return rows


@dataclass(frozen=True)
class StockFilter:
    q: str | None = None
    low_only: bool = False


def stock(
    session: Session,
    who: Actor | Reach,
    wanted: StockFilter,
    today: dt.date,
    page: int,
    per_page: int,
) -> tuple[list[dict[str, Any]], int]:
    """Items (a page of them, by name) with each vehicle's quantity on hand (the
    vehicles in reach), whether it is at or below the reorder level, and its soonest
    expiry among lots still held."""
    within = reach(session, who)
    vehicles = session.execute(
        within.where(select(Vehicle.id, Vehicle.name), Vehicle.id).order_by(Vehicle.name)
    ).all()
    held = held_by_lot(session, within)
    levels: dict[str, dict[str, dict[str, Any]]] = {}
    for (vehicle_id, item_id, _lot), (quantity, expiry) in held.items():
        level = levels.setdefault(item_id, {}).setdefault(
            vehicle_id, {"quantity": 0, "next_expiry": None}
        )
        level["quantity"] += quantity
        if quantity > 0 and (level["next_expiry"] is None or expiry < level["next_expiry"]):
            level["next_expiry"] = expiry
    query = select(Item).where(Item.active.is_(True))
    if wanted.q:
        query = query.where(Item.name.contains(wanted.q, autoescape=True))
    rows = []
    for item in session.scalars(query.order_by(Item.name, Item.id)):
        by_vehicle = [
            {
                "vehicle_id": vehicle_id,
                "vehicle_name": name,
                **_level(levels.get(item.id, {}).get(vehicle_id), item, today),
            }
            for vehicle_id, name in vehicles
        ]
        if wanted.low_only and not any(level["low"] for level in by_vehicle):
            continue
        rows.append(
            {
                "item_id": item.id,
                "name": item.name,
                "nappi_code": item.nappi_code,
                "reorder_level": item.reorder_level,
                "levels": by_vehicle,
            }
        )
    start = (page - 1) * per_page
    return rows[start : start + per_page], len(rows)


def held_by_lot(session: Session, within: Reach) -> dict[tuple[str, str, str], tuple[int, dt.date]]:
    """What each vehicle in reach holds of each lot (summed from the ledger) and its
    expiry."""
    query = within.where(
        select(
            StockMovement.vehicle_id,
            StockMovement.item_id,
            StockMovement.lot_id,
            func.sum(StockMovement.quantity),
            Lot.expiry_date,
        )
        .join(Lot, Lot.id == StockMovement.lot_id)
        .group_by(StockMovement.vehicle_id, StockMovement.item_id, StockMovement.lot_id)
        .group_by(Lot.expiry_date),
        StockMovement.vehicle_id,
    )
    return {(v, i, lot): (int(q or 0), e) for v, i, lot, q, e in session.execute(query)}


def _level(level: dict[str, Any] | None, item: Item, today: dt.date) -> dict[str, Any]:
    quantity = level["quantity"] if level else 0
    expiry = level["next_expiry"] if level else None
    return {
        "quantity": quantity,
        "low": is_low(quantity, item.reorder_level),
        "next_expiry": expiry,
        "expiring": expiry is not None and expiry - today <= EXPIRY_HORIZON,
    }
