"""The hub's low-stock and expiry alerts, raised from the fleet's stock ledger: one per
condition, even with several hub processes at once and alerts synced from the vehicle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from common.database import new_session
from hub.alert.stock import scan_stock
from schema.base import utcnow
from schema.models import Alert
from tests.hub import fleet_rows
from tests.hub.test_alert import concurrently
from tests.support import rows


def alerts(engine: Engine) -> list[tuple[str | None, str, str, str | None]]:
    with new_session(engine) as session:
        found = session.scalars(select(Alert).order_by(Alert.vehicle_id, Alert.dedupe_key))
        return [(a.vehicle_id, a.kind, a.priority, a.dedupe_key) for a in found]


def test_low_and_expiring_stock_raise_one_alert_each_per_vehicle(hub_engine: Engine) -> None:
    today = utcnow().date()
    with new_session(hub_engine) as session, session.begin():
        short, full = rows.vehicle(session, name="Short"), rows.vehicle(session, name="Full")
        rows.vehicle(session, name="Not enrolled")  # no device: not checked
        for vehicle in (short, full):
            fleet_rows.synced_device(session, vehicle.id, utcnow())
        pills = fleet_rows.item(session, "Paracetamol", reorder_level=50)
        fleet_rows.item(session, "Gauze", reorder_level=0)  # no reorder level: never low
        fleet_rows.stock(session, full.id, pills, 400, today + dt.timedelta(days=365))
        old = fleet_rows.stock(session, short.id, pills, 30, today + dt.timedelta(days=20))
        fleet_rows.stock(session, short.id, pills, 10, today + dt.timedelta(days=365), batch="B2")
        gone = fleet_rows.stock(
            session, full.id, pills, 5, today + dt.timedelta(days=3), batch="B3"
        )
        fleet_rows.stock(session, full.id, pills, -5, today, kind="dispense", batch="B3")

    concurrently(lambda: _scan(hub_engine))
    _scan(hub_engine)

    assert sorted(alerts(hub_engine)) == sorted(
        [
            (short.id, "stock_expiry", "high", f"expiry:{old.id}:30"),
            (short.id, "low_stock", "medium", f"low_stock:{pills.id}"),
        ]
    )
    assert gone.id not in str(alerts(hub_engine))  # a lot no longer held does not alert


def test_an_alert_synced_from_the_vehicle_is_kept_and_made_more_urgent(
    hub_engine: Engine,
) -> None:
    today = utcnow().date()
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session)
        fleet_rows.synced_device(session, vehicle.id, utcnow())
        pills = fleet_rows.item(session, reorder_level=50)
        fleet_rows.stock(session, vehicle.id, pills, 20, today + dt.timedelta(days=365))
        fleet_rows.stock(session, vehicle.id, pills, -20, today, kind="dispense")
        raised_on_board = fleet_rows.alert(
            session,
            vehicle.id,
            kind="low_stock",
            priority="medium",
            dedupe_key=f"low_stock:{pills.id}",
        )
    assert _scan(hub_engine) == 0
    with new_session(hub_engine) as session:
        kept = session.scalars(select(Alert)).all()
    assert [(a.id, a.priority) for a in kept] == [(raised_on_board.id, "high")]  # none left

    with new_session(hub_engine) as session, session.begin():
        alert = session.get_one(Alert, raised_on_board.id)
        alert.status, alert.resolved_at = "resolved", utcnow()
    assert _scan(hub_engine) == 1  # still out of stock: a resolved alert does not hide it


def _scan(engine: Engine) -> int:
    with new_session(engine) as session:
        return scan_stock(session, utcnow().date(), utcnow()).raised
