"""Supply requests from the vehicle and deliveries received into stock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from schema.base import utcnow
from schema.models import Delivery, DeliveryLine, StockMovement, SupplyRequest
from tests.support.operations import make_item
from tests.support.tables import row_counts


def request_items(client: Any, staff: Any, item_id: str, quantity: int = 200) -> Any:
    body = {
        "priority": "urgent",
        "reason": "clinic day",
        "lines": [{"item_id": item_id, "quantity": quantity}],
    }
    return client.post("/api/supply-requests", json=body, headers=staff.headers)


def arrive_by_sync(engine: Engine, vehicle_id: str, request_id: str, item_id: str) -> str:
    """Head office approves the request and dispatches a delivery (as sync would bring it)."""
    with new_session(engine) as session, session.begin():
        session.get_one(SupplyRequest, request_id).status = "approved"
        delivery = Delivery(
            supply_request_id=request_id,
            vehicle_id=vehicle_id,
            carrier="Courier",
            status="shipped",
            created_by="head-office",
            created_at=utcnow(),
        )
        session.add(delivery)
        session.flush()
        for batch, quantity in (("D1", 120), ("D2", 80)):
            session.add(
                DeliveryLine(
                    delivery_id=delivery.id,
                    vehicle_id=vehicle_id,
                    item_id=item_id,
                    batch_number=batch,
                    expiry_date=dt.date.today() + dt.timedelta(days=365),
                    quantity=quantity,
                )
            )
    return delivery.id


def test_request_then_receive_the_delivery_into_stock(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine, "Gauze")
    made = request_items(edge_client, manager, item)
    assert made.status_code == 201
    request = made.get_json()["data"]
    assert request["status"] == "pending" and request["lines"] == [
        {"item_id": item, "item_name": "Gauze", "quantity": 200}
    ]
    delivery = arrive_by_sync(edge_engine, edge_vehicle, request["id"], item)
    pending = edge_client.get("/api/deliveries?status=shipped", headers=manager.headers).get_json()
    assert [d["id"] for d in pending["data"]] == [delivery]
    received = edge_client.post(f"/api/deliveries/{delivery}/receive", headers=manager.headers)
    assert received.status_code == 200
    assert received.get_json()["data"]["status"] == "received"
    again = edge_client.post(f"/api/deliveries/{delivery}/receive", headers=manager.headers)
    assert again.status_code == 409
    stock = edge_client.get("/api/inventory/stock", headers=manager.headers).get_json()["data"]
    assert stock[0]["on_hand"] == 200 and len(stock[0]["lots"]) == 2
    with edge_engine.connect() as connection:
        refs = set(
            connection.execute(select(StockMovement.reference_type, StockMovement.reference_id))
        )
    assert refs == {("delivery", delivery)}
    one = edge_client.get(f"/api/supply-requests/{request['id']}", headers=manager.headers)
    assert one.get_json()["data"]["status"] == "fulfilled"
    cancel = edge_client.post(
        f"/api/supply-requests/{request['id']}/cancel", headers=manager.headers
    )
    assert cancel.status_code == 409


def test_a_pending_request_can_be_cancelled(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    request = request_items(edge_client, manager, make_item(edge_engine)).get_json()["data"]
    cancelled = edge_client.post(
        f"/api/supply-requests/{request['id']}/cancel", headers=manager.headers
    )
    assert cancelled.get_json()["data"]["status"] == "cancelled"
    assert cancelled.get_json()["data"]["decided_by"] == manager.id
    listed = edge_client.get(
        "/api/supply-requests?status=cancelled", headers=manager.headers
    ).get_json()
    assert listed["pagination"]["total"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"priority": "urgent", "lines": []},
        {"priority": "whenever", "lines": [{"item_id": "ITEM", "quantity": 1}]},
        {"priority": "urgent", "lines": [{"item_id": "ITEM", "quantity": 0}]},
        {"priority": "urgent", "lines": [{"item_id": "nope", "quantity": 1}]},
        {
            "priority": "urgent",
            "lines": [{"item_id": "ITEM", "quantity": 1}, {"item_id": "ITEM", "quantity": 2}],
        },
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    edge_client: Any, edge_user: Any, edge_engine: Engine, body: dict[str, Any]
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine)
    for line in body["lines"]:
        line["item_id"] = item if line["item_id"] == "ITEM" else line["item_id"]
    before = row_counts(edge_engine)
    response = edge_client.post("/api/supply-requests", json=body, headers=manager.headers)
    assert response.status_code in (400, 404)
    assert row_counts(edge_engine) == before


def test_roles(edge_client: Any, edge_user: Any, edge_engine: Engine) -> None:
    item = make_item(edge_engine)
    assert request_items(edge_client, edge_user("nurse"), item).status_code == 403
    assert request_items(edge_client, edge_user("clerk"), item).status_code == 403
    assert (
        edge_client.get("/api/supply-requests", headers=edge_user("viewer").headers).status_code
        == 200
    )
