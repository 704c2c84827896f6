"""The crew's pages for the vehicle's day: route and bookings, stock, assets, supply, alerts.

Pages read through the same services as the API and write through the API (crew.js),
so every rule and audit record applies to both.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request

from common.access import current_actor
from common.api import endpoint
from common.database import db
from common.errors import BadRequest
from common.permission import permits
from edge.alert import service as alerts
from edge.appointment import service as appointments
from edge.asset import service as assets
from edge.route import service as routes
from edge.scope import vehicle_of
from edge.stock import service as stock
from edge.supply import service as supply

bp = Blueprint(
    "crew_pages",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static/crew",
)

EVERYTHING = 500  # a vehicle's day, stock list or alert list fits on one page


@bp.get("/crew/day")
@endpoint("routes:read", page=True)
def day() -> Any:
    """The day's route: stops in order, their slots and who is booked in each."""
    actor, session = current_actor(), db.session
    chosen = _date(request.args.get("date"))
    route = routes.route_of_day(session, vehicle_of(actor), chosen)
    plan = routes.route_view(session, route) if route else None
    booked: dict[str, list[dict[str, Any]]] = {}
    if route is not None and permits(actor.role, "appointments:read"):
        rows, _ = appointments.list_appointments(
            session, actor, {"route_id": route.id}, 1, EVERYTHING
        )
        for row in rows:
            booked.setdefault(row["slot_id"], []).append(row)
    return render_template(
        "crew/day.html",
        day=chosen,
        plan=plan,
        booked=booked,
        can_book=permits(actor.role, "appointments:write"),
        previous_day=chosen - dt.timedelta(days=1),
        next_day=chosen + dt.timedelta(days=1),
    )


@bp.get("/crew/stock")
@endpoint("inventory:read", page=True)
def stock_page() -> Any:
    """Stock levels with their lots, what needs attention, and the receive/use/count forms."""
    actor, session = current_actor(), db.session
    items, _ = stock.list_stock(session, actor, {}, 1, EVERYTHING)
    return render_template(
        "crew/stock.html",
        items=items,
        attention=stock.stock_alerts(session, actor),
        can_write=permits(actor.role, "inventory:write"),
        today=dt.date.today(),
    )


@bp.get("/crew/assets")
@endpoint("assets:read", page=True)
def assets_page() -> Any:
    """Equipment and when each is due for maintenance."""
    actor = current_actor()
    rows, _ = assets.list_assets(db.session, actor, {}, 1, EVERYTHING)
    return render_template(
        "crew/assets.html",
        assets=rows,
        kinds=assets.MAINTENANCE_KINDS,
        can_write=permits(actor.role, "assets:write"),
    )


@bp.get("/crew/supply")
@endpoint("supply:read", page=True)
def supply_page() -> Any:
    """Supply requests to head office and the deliveries waiting to be received."""
    actor, session = current_actor(), db.session
    requests, _ = supply.list_requests(session, actor, {}, 1, EVERYTHING)
    deliveries, _ = supply.list_deliveries(session, actor, {}, 1, EVERYTHING)
    items, _ = (
        stock.list_stock(session, actor, {}, 1, EVERYTHING)
        if permits(actor.role, "inventory:read")
        else ([], 0)
    )
    return render_template(
        "crew/supply.html",
        requests=requests,
        deliveries=deliveries,
        items=items,
        priorities=supply.PRIORITIES,
        can_request=permits(actor.role, "supply:write"),
        can_receive=permits(actor.role, "inventory:write"),
    )


@bp.get("/crew/alerts")
@endpoint("alerts:read", page=True)
def alerts_page() -> Any:
    """Open alerts, most urgent first, with acknowledge and resolve."""
    actor = current_actor()
    rows, _ = alerts.list_alerts(db.session, actor, {"status": "open"}, 1, EVERYTHING)
    return render_template(
        "crew/alerts.html", alerts=rows, can_write=permits(actor.role, "alerts:write")
    )


@bp.app_template_filter("clock")
def clock(moment: dt.datetime) -> str:
    """A time as the crew reads it: on the vehicle's clock (South African time by default)."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime("%H:%M")


def _date(text: str | None) -> dt.date:
    if not text:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadRequest("The date must look like 2026-12-01") from None
