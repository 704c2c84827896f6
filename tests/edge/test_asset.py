"""Equipment on the edge: serials, status, maintenance schedule and log, due alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from edge import jobs
from schema.models import Alert, Asset
from tests.support.identity import make_vehicle
from tests.support.tables import row_counts

TODAY = dt.date.today()


def add(client: Any, staff: Any, **extra: Any) -> Any:
    body = {"name": "Defibrillator", "serial_number": "DF-001", "category": "emergency", **extra}
    return client.post("/api/assets", json=body, headers=staff.headers)


def test_an_asset_is_scheduled_maintained_and_logged(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    manager = edge_user("inventory_manager")
    acquired = TODAY - dt.timedelta(days=85)
    made = add(edge_client, manager, acquired_on=acquired.isoformat(), maintenance_interval_days=90)
    assert made.status_code == 201
    asset = made.get_json()["data"]
    assert asset["next_maintenance_due"] == (acquired + dt.timedelta(days=90)).isoformat()
    assert asset["maintenance_due"] is True and asset["vehicle_id"] == edge_vehicle

    assert jobs.daily_checks(edge_engine) == 1
    assert jobs.daily_checks(edge_engine) == 1  # the condition persists; the alert is not repeated
    with edge_engine.connect() as connection:
        alerts = connection.execute(select(Alert.kind, Alert.status, Alert.priority)).all()
    assert alerts == [("maintenance_due", "active", "medium")]

    logged = edge_client.post(
        f"/api/assets/{asset['id']}/maintenance",
        json={"kind": "service", "notes": "pads replaced"},
        headers=manager.headers,
    )
    assert logged.status_code == 201
    after = logged.get_json()["data"]
    assert after["next_maintenance_due"] == (TODAY + dt.timedelta(days=90)).isoformat()
    assert [(m["kind"], m["notes"]) for m in after["maintenance_log"]] == [
        ("service", "pads replaced")
    ]
    with edge_engine.connect() as connection:
        assert connection.scalar(select(Alert.status)) == "resolved"
    one = edge_client.get(f"/api/assets/{asset['id']}", headers=edge_user("viewer").headers)
    assert one.get_json()["data"]["maintenance_log"][0]["performed_by"] == manager.id


def test_status_changes_and_repair(edge_client: Any, edge_user: Any) -> None:
    manager = edge_user("inventory_manager")
    asset = add(edge_client, manager).get_json()["data"]
    broken = edge_client.post(
        f"/api/assets/{asset['id']}/status",
        json={"status": "needs_repair"},
        headers=manager.headers,
    )
    assert broken.get_json()["data"]["status"] == "needs_repair"
    due = edge_client.get("/api/assets?status=needs_repair", headers=manager.headers).get_json()
    assert due["pagination"]["total"] == 1
    repaired = edge_client.post(
        f"/api/assets/{asset['id']}/maintenance", json={"kind": "repair"}, headers=manager.headers
    ).get_json()["data"]
    assert repaired["status"] == "in_service"
    edge_client.post(
        f"/api/assets/{asset['id']}/status", json={"status": "retired"}, headers=manager.headers
    )
    again = edge_client.post(
        f"/api/assets/{asset['id']}/status", json={"status": "in_service"}, headers=manager.headers
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    "body",
    [
        {"serial_number": "X", "category": "c"},
        {"name": "n", "serial_number": "DF-001", "category": "c"},  # duplicate serial
        {"name": "n", "serial_number": "Y", "category": "c", "status": "lost"},
        {"name": "n", "serial_number": "Y", "category": "c", "maintenance_interval_days": 0},
        {"name": "n", "serial_number": "Y", "category": "c", "supplier_id": "nope"},
        {"name": "n", "serial_number": "Y", "category": "c", "acquired_on": "yesterday"},
    ],
)
def test_bad_assets_are_refused_and_change_nothing(
    edge_client: Any, edge_user: Any, edge_engine: Engine, body: dict[str, Any]
) -> None:
    manager = edge_user("inventory_manager")
    add(edge_client, manager)
    before = row_counts(edge_engine)
    response = edge_client.post("/api/assets", json=body, headers=manager.headers)
    assert response.status_code in (400, 404, 409)
    assert row_counts(edge_engine) == before


def test_bad_maintenance_is_refused(edge_client: Any, edge_user: Any, edge_engine: Engine) -> None:
    manager = edge_user("inventory_manager")
    asset = add(edge_client, manager).get_json()["data"]
    before = row_counts(edge_engine)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    for body in ({"kind": "polish"}, {}, {"kind": "service", "performed_at": future}):
        response = edge_client.post(
            f"/api/assets/{asset['id']}/maintenance", json=body, headers=manager.headers
        )
        assert response.status_code in (400, 409)
    assert row_counts(edge_engine) == before


def test_other_vehicles_assets_and_roles(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    asset = add(edge_client, manager).get_json()["data"]
    with new_session(edge_engine) as session, session.begin():
        session.get_one(Asset, asset["id"]).vehicle_id = make_vehicle(edge_engine)
    assert edge_client.get(f"/api/assets/{asset['id']}", headers=manager.headers).status_code == 404
    assert edge_client.get("/api/assets", headers=manager.headers).get_json()["data"] == []
    assert add(edge_client, edge_user("nurse"), serial_number="N1").status_code == 403
    assert edge_client.get("/api/assets", headers=edge_user("clerk").headers).status_code == 403


def test_suppliers_are_made_once(edge_client: Any, edge_user: Any) -> None:
    manager = edge_user("inventory_manager")
    body = {"name": "MedSupply SA", "phone": "+27 12 345 6789", "email": "orders@medsupply.example"}
    assert edge_client.post("/api/suppliers", json=body, headers=manager.headers).status_code == 201
    assert edge_client.post("/api/suppliers", json=body, headers=manager.headers).status_code == 409
    bad = edge_client.post(
        "/api/suppliers", json={"name": "x", "phone": "call me"}, headers=manager.headers
    )
    assert bad.status_code == 400
    listed = edge_client.get("/api/suppliers", headers=manager.headers).get_json()
    assert [s["name"] for s in listed["data"]] == ["MedSupply SA"]
    supplier = listed["data"][0]["id"]
    made = add(edge_client, manager, supplier_id=supplier, serial_number="S-2")
    assert made.get_json()["data"]["supplier_id"] == supplier
