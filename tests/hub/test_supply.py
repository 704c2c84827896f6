"""Head office decides vehicles' supply requests and ships them as deliveries."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select

from common.database import new_session
from schema.models import Delivery, SupplyRequest, SyncChange
from tests.hub import fleet_rows
from tests.support import rows
from tests.support.identity import Staff, bearer
from tests.support.tables import AUDIT_TABLES, row_counts

LATER = (dt.date.today() + dt.timedelta(days=400)).isoformat()


@pytest.fixture
def pending(hub_engine: Engine) -> dict[str, str]:
    """A pending request of 200 paracetamol from a vehicle."""
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session, name="Clinic East")
        item = fleet_rows.item(session)
        request = fleet_rows.supply_request(session, vehicle.id, item, 200)
    return {"request": request.id, "vehicle": vehicle.id, "item": item.id}


def delivery(item_id: str, **extra: Any) -> dict[str, Any]:
    line = {"item_id": item_id, "batch_number": "PCM-77", "expiry_date": LATER, "quantity": 200}
    return {"carrier": "Courier Guy", "tracking_number": "CG123", "lines": [line], **extra}


def test_a_request_is_approved_fulfilled_shipped_and_delivered(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, pending: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    base = f"/api/supply-requests/{pending['request']}"
    listed = hub_client.get("/api/supply-requests?status=open", headers=admin.headers)
    first = listed.get_json()["data"][0]
    assert first["vehicle_name"] == "Clinic East"
    assert first["lines"] == [
        {"item_id": pending["item"], "item_name": "Paracetamol", "quantity": 200}
    ]
    early = hub_client.post(
        f"{base}/deliveries", json=delivery(pending["item"]), headers=admin.headers
    )
    assert early.status_code == 409  # not approved yet
    approved = hub_client.post(f"{base}/approve", headers=admin.headers)
    assert approved.get_json()["data"]["status"] == "approved"
    assert approved.get_json()["data"]["decided_by"] == admin.id
    assert hub_client.post(f"{base}/approve", headers=admin.headers).status_code == 409

    made = hub_client.post(
        f"{base}/deliveries", json=delivery(pending["item"]), headers=admin.headers
    )
    assert made.status_code == 201, made.get_json()
    request = made.get_json()["data"]
    assert request["status"] == "fulfilled"
    shipment = request["deliveries"][0]
    assert shipment["status"] == "pending" and shipment["lines"][0]["batch_number"] == "PCM-77"
    path = f"/api/deliveries/{shipment['id']}/status"
    skipped = hub_client.post(path, json={"status": "delivered"}, headers=admin.headers)
    assert skipped.status_code == 409
    shipped = hub_client.post(path, json={"status": "shipped"}, headers=admin.headers)
    assert shipped.get_json()["data"]["shipped_at"] is not None
    done = hub_client.post(path, json={"status": "delivered"}, headers=admin.headers)
    assert done.get_json()["data"]["status"] == "delivered"
    assert (
        hub_client.post(path, json={"status": "shipped"}, headers=admin.headers).status_code == 409
    )
    listed = hub_client.get("/api/deliveries?status=delivered", headers=admin.headers).get_json()
    assert listed["pagination"]["total"] == 1
    with hub_engine.connect() as connection:
        scopes = set(
            connection.execute(
                select(SyncChange.scope_id).where(
                    SyncChange.table_name.in_(["delivery", "delivery_line", "supply_request"])
                )
            ).scalars()
        )
    assert scopes == {pending["vehicle"]}  # goes to that vehicle at its next sync


def test_a_request_can_be_rejected_with_a_reason(
    hub_client: Any, hub_user: Callable[..., Staff], pending: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    base = f"/api/supply-requests/{pending['request']}"
    assert hub_client.post(f"{base}/reject", json={}, headers=admin.headers).status_code == 400
    rejected = hub_client.post(
        f"{base}/reject", json={"reason": "Stock due"}, headers=admin.headers
    )
    assert rejected.get_json()["data"]["status"] == "rejected"
    assert hub_client.post(f"{base}/approve", headers=admin.headers).status_code == 409


@pytest.mark.parametrize(
    "change",
    [
        {"lines": []},
        {"lines": [{"item_id": "nope", "batch_number": "X", "expiry_date": LATER, "quantity": 1}]},
        {
            "lines": [
                {"item_id": "ITEM", "batch_number": "X", "expiry_date": "2020-01-01", "quantity": 1}
            ]
        },
        {"lines": [{"item_id": "ITEM", "batch_number": "X", "expiry_date": LATER, "quantity": 0}]},
        {"carrier": "x" * 81},
    ],
)
def test_a_bad_delivery_writes_nothing(
    hub_client: Any,
    hub_user: Callable[..., Staff],
    hub_engine: Engine,
    pending: dict[str, str],
    change: dict[str, Any],
) -> None:
    admin = hub_user("administrator")
    base = f"/api/supply-requests/{pending['request']}"
    hub_client.post(f"{base}/approve", headers=admin.headers)
    body = delivery(pending["item"], **change)
    for line in body["lines"]:
        if line["item_id"] == "ITEM":
            line["item_id"] = pending["item"]
    before = row_counts(hub_engine)
    response = hub_client.post(f"{base}/deliveries", json=body, headers=admin.headers)
    assert response.status_code == 400, response.get_json()
    assert row_counts(hub_engine) == before


def test_inventory_managers_see_requests_but_only_approvers_decide(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, pending: dict[str, str]
) -> None:
    manager, finance, viewer = (
        hub_user("inventory_manager"),
        hub_user("finance"),
        hub_user("viewer"),
    )
    assert hub_client.get("/api/supply-requests", headers=manager.headers).status_code == 200
    assert hub_client.get("/api/supply-requests", headers=finance.headers).status_code == 403
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    for staff in (manager, finance, viewer):
        path = f"/api/supply-requests/{pending['request']}/approve"
        assert hub_client.post(path, headers=staff.headers).status_code == 403
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before


def test_two_hub_processes_approving_at_once_approve_once(
    hub_app: Flask, hub_user: Callable[..., Staff], hub_engine: Engine, pending: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    path = f"/api/supply-requests/{pending['request']}/approve"
    statuses: list[int] = []
    start = threading.Barrier(4)

    def approve() -> None:
        client = hub_app.test_client()
        headers = bearer(hub_app, admin.id)
        start.wait()
        statuses.append(client.post(path, headers=headers).status_code)

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409, 409, 409]
    with hub_engine.connect() as connection:
        approvals = connection.scalar(
            select(func.count())
            .select_from(SyncChange)
            .where(SyncChange.table_name == "supply_request")
        )
        status = connection.scalar(select(SupplyRequest.status))
        deliveries = connection.scalar(select(func.count()).select_from(Delivery))
    assert status == "approved" and deliveries == 0
    assert approvals == 2  # the insert and exactly one approval


def test_bad_decisions_and_status_changes_change_nothing(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, pending: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    base = f"/api/supply-requests/{pending['request']}"
    before = row_counts(hub_engine)
    for path, body, status in [
        (f"{base}/approve", {"note": "x" * 501}, 400),
        (f"{base}/reject", {"reason": ""}, 400),
        ("/api/supply-requests/no-such/approve", None, 404),
        ("/api/deliveries/no-such/status", {"status": "shipped"}, 404),
        ("/api/deliveries/no-such/status", {"status": "lost"}, 400),
    ]:
        response = hub_client.post(path, json=body, headers=admin.headers)
        assert response.status_code == status, (path, response.get_json())
    assert row_counts(hub_engine) == before
