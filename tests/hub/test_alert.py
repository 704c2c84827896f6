"""The fleet's alerts at head office, and the background jobs that escalate them and
raise one for a vehicle that stopped syncing: safe when several hub processes run them."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select

from common.database import new_session
from hub.alert import job
from hub.cli import main
from hub.fleet.service import Health
from schema.base import utcnow
from schema.models import Alert, AlertEscalation, SyncLink
from tests.hub import fleet_rows
from tests.support import rows
from tests.support.identity import Staff
from tests.support.tables import AUDIT_TABLES, row_counts

HEALTH = Health(dt.timedelta(hours=24), dt.timedelta(hours=72))


def count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model).where(*where)) or 0


def concurrently(work: Callable[[], object], times: int = 4) -> None:
    """Run `work` in `times` threads at once, each with its own connection (as separate
    hub processes would), and fail on any error."""
    start = threading.Barrier(times)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            work()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_unacknowledged_alerts_escalate_once_per_interval(hub_engine: Engine) -> None:
    now = utcnow()
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session)
        waited = fleet_rows.alert(
            session, vehicle.id, priority="critical", created_at=now - dt.timedelta(minutes=35)
        )
        fresh = fleet_rows.alert(session, vehicle.id, priority="critical", created_at=now)
        seen = fleet_rows.alert(
            session,
            vehicle.id,
            status="acknowledged",
            created_at=now - dt.timedelta(days=2),
        )
    with new_session(hub_engine) as session:
        assert job.escalate(session, now).escalated == 1
        assert job.escalate(session, now).escalated == 0  # nothing more is due yet
        assert job.escalate(session, now + dt.timedelta(hours=3)).escalated == 2
    with new_session(hub_engine) as session:
        levels = {a.id: a.escalation_level for a in session.scalars(select(Alert))}
        steps = session.execute(
            select(AlertEscalation.from_level, AlertEscalation.to_level)
            .where(AlertEscalation.alert_id == waited.id)
            .order_by(AlertEscalation.at)
        ).all()
    assert levels == {waited.id: 3, fresh.id: 3, seen.id: 0}
    assert [tuple(s) for s in steps] == [(0, 2), (2, 3)]


def test_escalation_in_several_processes_at_once_escalates_each_alert_once(
    hub_engine: Engine,
) -> None:
    now = utcnow()
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session)
        for _ in range(30):
            fleet_rows.alert(session, vehicle.id, created_at=now - dt.timedelta(minutes=90))

    def escalate() -> None:
        with new_session(hub_engine) as session:
            job.escalate(session, now)

    concurrently(escalate)
    assert count(hub_engine, AlertEscalation) == 30
    assert count(hub_engine, Alert, Alert.escalation_level == 1) == 30


def test_a_vehicle_that_stops_syncing_raises_one_alert_until_it_syncs_again(
    hub_engine: Engine,
) -> None:
    now = utcnow()
    with new_session(hub_engine) as session, session.begin():
        quiet = rows.vehicle(session, name="Quiet")
        busy = rows.vehicle(session, name="Busy")
        rows.vehicle(session, name="Not enrolled yet")  # no device: no alert
        device = fleet_rows.synced_device(session, quiet.id, now - dt.timedelta(days=4))
        fleet_rows.synced_device(session, busy.id, now - dt.timedelta(minutes=5))

    def detect() -> None:
        with new_session(hub_engine) as session:
            job.detect_stale_sync(session, HEALTH, utcnow())

    concurrently(detect)
    detect()
    with new_session(hub_engine) as session:
        raised = session.scalars(select(Alert)).all()
    assert [(a.vehicle_id, a.kind, a.status) for a in raised] == [
        (quiet.id, "sync_stale", "active")
    ]
    assert raised[0].title.startswith("Quiet has not synced since")

    with new_session(hub_engine) as session, session.begin():
        link = session.get(SyncLink, device.id)
        assert link is not None
        link.last_success_at = utcnow()
    with new_session(hub_engine) as session:
        assert job.detect_stale_sync(session, HEALTH, utcnow()).resolved == 1
    assert count(hub_engine, Alert, Alert.status == "resolved") == 1


def test_head_office_lists_acknowledges_and_resolves_alerts(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session)
        low = fleet_rows.alert(session, vehicle.id, priority="low")
        critical = fleet_rows.alert(session, vehicle.id, priority="critical")
    admin = hub_user("administrator")
    listed = hub_client.get("/api/alerts", headers=admin.headers).get_json()["data"]
    assert [a["id"] for a in listed] == [critical.id, low.id]  # most urgent first
    path = f"/api/alerts/{critical.id}"
    acknowledged = hub_client.post(f"{path}/acknowledge", headers=admin.headers)
    assert acknowledged.get_json()["data"]["acknowledged_by"] == admin.id
    assert hub_client.post(f"{path}/acknowledge", headers=admin.headers).status_code == 409
    assert hub_client.post(f"{path}/resolve", headers=admin.headers).status_code == 200
    still_open = hub_client.get("/api/alerts", headers=admin.headers).get_json()["data"]
    assert [a["id"] for a in still_open] == [low.id]
    everything = hub_client.get("/api/alerts?state=all", headers=admin.headers).get_json()
    assert everything["pagination"]["total"] == 2


@pytest.mark.parametrize("role", ["finance"])
def test_roles_without_alerts_neither_see_nor_change_them(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, role: str
) -> None:
    with new_session(hub_engine) as session, session.begin():
        alert = fleet_rows.alert(session, rows.vehicle(session).id)
    staff = hub_user(role)
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    assert hub_client.get("/api/alerts", headers=staff.headers).status_code == 403
    path = f"/api/alerts/{alert.id}/resolve"
    assert hub_client.post(path, headers=staff.headers).status_code == 403
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    viewer = hub_user("viewer")
    assert hub_client.post(path, headers=viewer.headers).status_code == 403


def test_clinic_hub_scheduler_once_runs_every_job_once(
    hub_engine: Engine, hub_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session, name="Far")
        fleet_rows.synced_device(session, vehicle.id, utcnow() - dt.timedelta(days=5))
        fleet_rows.alert(session, vehicle.id, created_at=utcnow() - dt.timedelta(hours=2))
        fleet_rows.item(session, reorder_level=10)  # none on board: low
    monkeypatch.setenv("HUB_DATABASE_URL", hub_database_url)
    result = CliRunner().invoke(main, ["scheduler", "--once", "--without-palmed"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "alerts: escalated 1 alerts; stale sync: raised 1, resolved 0",
        "stock: raised 1 low-stock or expiry alerts",
    ]
    assert count(hub_engine, Alert, Alert.kind == "sync_stale") == 1
    assert count(hub_engine, Alert, Alert.kind == "low_stock") == 1


def test_clinic_hub_scheduler_refuses_to_start_without_palmed_unless_told(
    hub_engine: Engine, hub_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", hub_database_url)
    monkeypatch.delenv("PALMED_API_KEY", raising=False)
    before = row_counts(hub_engine)
    result = CliRunner().invoke(main, ["scheduler", "--once"])
    assert result.exit_code == 1
    assert "PALMED is not configured on this hub" in result.output
    assert row_counts(hub_engine) == before
    assert "jobs" not in main.commands  # one scheduler runs every job
