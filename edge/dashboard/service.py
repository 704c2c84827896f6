"""The crew's day at a glance: today's route and bookings, stock, assets, supply, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.access import Actor
from edge.alert.service import counts as alert_counts
from edge.asset.service import DUE_WITHIN_DAYS
from edge.route.service import route_of_day
from edge.scope import vehicle_of
from edge.stock.service import conditions
from schema.models import (
    Appointment,
    AppointmentSlot,
    Asset,
    Delivery,
    Route,
    RouteStop,
    SupplyRequest,
)


def stats(session: Session, actor: Actor, today: dt.date | None = None) -> dict[str, Any]:
    vehicle_id = vehicle_of(actor)
    day = today or dt.date.today()
    route = route_of_day(session, vehicle_id, day)
    stock = conditions(session, vehicle_id, day)
    return {
        "date": day.isoformat(),
        "route": None if route is None else {"id": route.id, "name": route.name},
        "appointments": _appointments(session, vehicle_id, day),
        "stock": {
            "low": len(stock["low_stock"]),
            "expiring": sum(1 for lot in stock["expiring"] if lot["days_to_expiry"] >= 0),
            "expired": sum(1 for lot in stock["expiring"] if lot["days_to_expiry"] < 0),
        },
        "assets": {
            "needs_repair": _count(session, Asset, vehicle_id, Asset.status == "needs_repair"),
            "maintenance_due": _count(
                session,
                Asset,
                vehicle_id,
                Asset.status != "retired",
                Asset.next_maintenance_due <= day + dt.timedelta(days=DUE_WITHIN_DAYS),
            ),
        },
        "supply": {
            "open_requests": _count(
                session,
                SupplyRequest,
                vehicle_id,
                SupplyRequest.status.in_(("pending", "approved")),
            ),
            "deliveries_to_receive": _count(
                session, Delivery, vehicle_id, Delivery.status.in_(("pending", "shipped"))
            ),
        },
        "alerts": alert_counts(session, vehicle_id),
    }


def _appointments(session: Session, vehicle_id: str, day: dt.date) -> dict[str, int]:
    rows = session.execute(
        select(Appointment.status, func.count())
        .join(AppointmentSlot, AppointmentSlot.id == Appointment.slot_id)
        .join(RouteStop, RouteStop.id == AppointmentSlot.route_stop_id)
        .join(Route, Route.id == RouteStop.route_id)
        .where(Appointment.vehicle_id == vehicle_id, Route.route_date == day)
        .group_by(Appointment.status)
    ).all()
    by_status = {status: n for status, n in rows}
    return {s: by_status.get(s, 0) for s in ("booked", "attended", "no_show", "cancelled")}


def _count(session: Session, model: Any, vehicle_id: str, *where: Any) -> int:
    query = select(func.count()).select_from(model).where(model.vehicle_id == vehicle_id, *where)
    return session.scalar(query) or 0
