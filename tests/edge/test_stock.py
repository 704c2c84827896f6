"""Stock on the edge: a ledger that never goes negative, FEFO, counts, and what is on hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from common.database import new_session, write_intent
from common.errors import Conflict
from edge.stock import service
from schema.models import Alert, Lot, StockLevel
from tests.support.operations import make_item
from tests.support.tables import row_counts

TODAY = dt.date.today()


def receive(client: Any, staff: Any, item_id: str, batch: str, days: int, quantity: int) -> Any:
    body = {
        "item_id": item_id,
        "batch_number": batch,
        "expiry_date": (TODAY + dt.timedelta(days=days)).isoformat(),
        "quantity": quantity,
    }
    return client.post("/api/inventory/stock", json=body, headers=staff.headers)


def levels(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {r.lot_id: r.quantity for r in connection.execute(select(StockLevel))}


def levels_in(session: Any) -> dict[str, int]:
    rows = session.execute(select(StockLevel.lot_id, StockLevel.quantity))
    return {lot_id: quantity for lot_id, quantity in rows}


def test_receipts_and_usage_move_the_ledger_and_on_hand(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine, nappi_code="7001234")
    received = receive(edge_client, manager, item, "B1", 200, 50)
    assert received.status_code == 201
    movement = received.get_json()["data"]
    assert movement["kind"] == "receipt" and movement["lot_on_hand"] == 50
    assert (
        receive(edge_client, manager, item, "B1", 200, 10).get_json()["data"]["lot_on_hand"] == 60
    )
    used = edge_client.post(
        "/api/inventory/usage", json={"item_id": item, "quantity": 15}, headers=manager.headers
    )
    assert used.status_code == 201
    assert [(m["quantity"], m["lot_on_hand"]) for m in used.get_json()["data"]] == [(-15, 45)]
    [row] = edge_client.get("/api/inventory/stock", headers=manager.headers).get_json()["data"]
    assert row["on_hand"] == 45 and [lot["quantity"] for lot in row["lots"]] == [45]
    ledger = edge_client.get("/api/inventory/movements", headers=manager.headers).get_json()
    assert [m["quantity"] for m in ledger["data"]] == [-15, 10, 50]
    found = edge_client.get("/api/inventory/stock?q=7001234", headers=manager.headers).get_json()
    assert found["pagination"]["total"] == 1


def test_a_movement_that_would_go_negative_is_refused(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine)
    lot = receive(edge_client, manager, item, "B1", 200, 5).get_json()["data"]["lot_id"]
    before = row_counts(edge_engine)
    for body in (
        {"item_id": item, "quantity": 6},
        {"lot_id": lot, "quantity": 6},
    ):
        response = edge_client.post("/api/inventory/usage", json=body, headers=manager.headers)
        assert response.status_code == 409, response.get_json()
    wasted = edge_client.post(
        "/api/inventory/movements",
        json={"lot_id": lot, "kind": "adjustment", "quantity": -6, "reason": "miscount"},
        headers=manager.headers,
    )
    assert wasted.status_code == 409
    assert row_counts(edge_engine) == before
    assert levels(edge_engine) == {lot: 5}


def test_usage_takes_the_first_expiring_lot_first(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine)
    late = receive(edge_client, manager, item, "LATE", 300, 10).get_json()["data"]["lot_id"]
    soon = receive(edge_client, manager, item, "SOON", 40, 4).get_json()["data"]["lot_id"]
    gone = receive(edge_client, manager, item, "GONE", 100, 3).get_json()["data"]["lot_id"]
    with new_session(edge_engine) as session, session.begin():
        session.get_one(Lot, gone).expiry_date = TODAY - dt.timedelta(days=1)  # expired
    used = edge_client.post(
        "/api/inventory/usage", json={"item_id": item, "quantity": 6}, headers=manager.headers
    ).get_json()["data"]
    assert [(m["lot_id"], m["quantity"]) for m in used] == [(soon, -4), (late, -2)]
    short = edge_client.post(
        "/api/inventory/usage", json={"item_id": item, "quantity": 9}, headers=manager.headers
    )
    assert short.status_code == 409 and "not expired" in short.get_json()["error"]
    assert levels(edge_engine) == {late: 8, soon: 0, gone: 3}


def test_a_stocktake_records_adjustments_with_reasons(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine)
    a = receive(edge_client, manager, item, "A", 200, 10).get_json()["data"]["lot_id"]
    b = receive(edge_client, manager, item, "B", 220, 10).get_json()["data"]["lot_id"]
    counts = [
        {"lot_id": a, "counted": 8, "reason": "two boxes damaged"},
        {"lot_id": b, "counted": 10},
    ]
    response = edge_client.post(
        "/api/inventory/stocktake", json={"counts": counts}, headers=manager.headers
    )
    assert response.status_code == 201
    result = response.get_json()["data"]
    assert result["counted"] == 2
    [adjustment] = result["adjustments"]
    assert (adjustment["lot_id"], adjustment["quantity"]) == (a, -2)
    assert adjustment["reason"] == "two boxes damaged"
    assert adjustment["reference_type"] == "stocktake"
    assert levels(edge_engine) == {a: 8, b: 10}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/inventory/stock", {}),
        ("/api/inventory/stock", {"item_id": "ITEM", "batch_number": "X", "quantity": 5}),
        (
            "/api/inventory/stock",
            {"item_id": "ITEM", "batch_number": "X", "expiry_date": "2030-01-01", "quantity": 0},
        ),
        (
            "/api/inventory/stock",
            {"item_id": "ITEM", "batch_number": "X", "expiry_date": "2030-01-01", "quantity": "5"},
        ),
        (
            "/api/inventory/stock",
            {"item_id": "nope", "batch_number": "X", "expiry_date": "2030-01-01", "quantity": 5},
        ),
        (
            "/api/inventory/stock",
            {"item_id": "ITEM", "batch_number": "B0", "expiry_date": "2031-01-01", "quantity": 5},
        ),
        (
            "/api/inventory/stock",
            {"item_id": "ITEM", "batch_number": "OLD", "expiry_date": "2020-01-01", "quantity": 5},
        ),
        ("/api/inventory/usage", {"quantity": 1}),
        ("/api/inventory/usage", {"item_id": "ITEM", "lot_id": "LOT", "quantity": 1}),
        ("/api/inventory/usage", {"item_id": "ITEM", "quantity": -1}),
        ("/api/inventory/usage", {"lot_id": "LOT", "quantity": 1, "kind": "receipt"}),
        ("/api/inventory/usage", {"lot_id": "LOT", "quantity": 1, "kind": "wastage"}),
        ("/api/inventory/movements", {"lot_id": "LOT", "kind": "adjustment", "quantity": 2}),
        ("/api/inventory/movements", {"lot_id": "LOT", "kind": "transfer_in", "quantity": -2}),
        (
            "/api/inventory/movements",
            {"lot_id": "LOT", "kind": "wastage", "quantity": 2, "reason": "x"},
        ),
        (
            "/api/inventory/movements",
            {"lot_id": "LOT", "kind": "adjustment", "quantity": 0, "reason": "x"},
        ),
        ("/api/inventory/movements", {"lot_id": "nope", "kind": "transfer_in", "quantity": 2}),
        ("/api/inventory/stocktake", {"counts": []}),
        ("/api/inventory/stocktake", {"counts": [{"lot_id": "LOT", "counted": -1}]}),
        (
            "/api/inventory/stocktake",
            {"counts": [{"lot_id": "LOT", "counted": 1}, {"lot_id": "LOT", "counted": 2}]},
        ),
        (
            "/api/inventory/stocktake",
            {"counts": [{"lot_id": "LOT", "counted": 1}, {"lot_id": "nope", "counted": 2}]},
        ),
    ],
)
def test_bad_stock_input_is_refused_and_changes_nothing(
    edge_client: Any, edge_user: Any, edge_engine: Engine, path: str, body: dict[str, Any]
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine)
    lot = receive(edge_client, manager, item, "B0", 200, 5).get_json()["data"]["lot_id"]
    names = {"ITEM": item, "LOT": lot}

    def fill(value: Any) -> Any:
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return names.get(value, value) if isinstance(value, str) else value

    before = row_counts(edge_engine)
    response = edge_client.post(path, json=fill(body), headers=manager.headers)
    assert 400 <= response.status_code < 500 and response.status_code != 403
    assert response.get_json()["success"] is False
    assert row_counts(edge_engine) == before


def test_roles_and_vehicles_are_checked(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine)
    lot = receive(edge_client, manager, item, "LOT", 200, 5).get_json()["data"]["lot_id"]
    for role in ("clerk", "nurse", "viewer"):
        refused = receive(edge_client, edge_user(role), item, "X", 200, 1)
        assert refused.status_code == 403
    assert (
        edge_client.get("/api/inventory/stock", headers=edge_user("nurse").headers).status_code
        == 200
    )
    assert (
        edge_client.get("/api/inventory/stock", headers=edge_user("clerk").headers).status_code
        == 403
    )
    from tests.support.identity import make_vehicle

    other = make_vehicle(edge_engine)
    with edge_engine.begin() as connection:
        connection.execute(text("UPDATE stock_level SET vehicle_id = :v"), {"v": other})
    with new_session(edge_engine) as session, session.begin():
        session.get_one(Lot, lot).vehicle_id = other
    response = edge_client.post(
        "/api/inventory/usage", json={"lot_id": lot, "quantity": 1}, headers=manager.headers
    )
    assert response.status_code == 404


def test_stock_alerts_find_low_stock_and_expiry_bands(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    manager = edge_user("inventory_manager")
    gloves = make_item(edge_engine, "Gloves", reorder_level=100, kind="consumable", unit="pair")
    receive(edge_client, manager, gloves, "G1", 400, 120)
    for batch, days in (("E10", 10), ("E45", 45), ("E75", 75), ("E120", 120)):
        receive(edge_client, manager, make_item(edge_engine, f"Drug {batch}"), batch, days, 5)
    alerts = edge_client.get("/api/inventory/alerts", headers=manager.headers).get_json()["data"]
    assert alerts["low_stock"] == []
    assert [(e["batch_number"], e["band"], e["priority"]) for e in alerts["expiring"]] == [
        ("E10", 30, "high"),
        ("E45", 60, "medium"),
        ("E75", 90, "low"),
    ]
    edge_client.post(
        "/api/inventory/usage", json={"item_id": gloves, "quantity": 30}, headers=manager.headers
    )
    alerts = edge_client.get("/api/inventory/alerts", headers=manager.headers).get_json()["data"]
    assert alerts["low_stock"] == [
        {"item_id": gloves, "name": "Gloves", "on_hand": 90, "reorder_level": 100}
    ]
    with edge_engine.connect() as connection:
        raised = connection.execute(select(Alert.kind, Alert.resource_id)).all()
    assert raised == [("low_stock", gloves)]  # the usage raised it at once

    with write_intent(), new_session(edge_engine) as session, session.begin():
        assert service.scan(session, edge_vehicle, TODAY) == 4
    with write_intent(), new_session(edge_engine) as session, session.begin():
        service.scan(session, edge_vehicle, TODAY)  # a second scan raises nothing new
    with edge_engine.connect() as connection:
        kinds = sorted(connection.scalars(select(Alert.kind)))
    assert kinds == ["low_stock"] + ["stock_expiry"] * 3


MOVES = st.lists(
    st.tuples(
        st.integers(0, 2),  # which lot
        st.sampled_from(["receipt", "dispense", "adjustment", "wastage", "transfer_out"]),
        st.integers(1, 40),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=MOVES)
def test_on_hand_always_equals_the_ledger(
    edge_app: Any, edge_engine: Engine, edge_vehicle: str, edge_user: Any, moves: list[Any]
) -> None:
    """Random sequences of movements, refused ones included: the maintained summary equals
    the ledger's sums, never goes negative, and a rebuild from the ledger changes nothing."""
    from common.database import db

    item = make_item(edge_engine)
    expected = [0, 0, 0]
    with edge_app.app_context(), write_intent():
        session = db.session
        lots = [
            Lot(
                item_id=item,
                vehicle_id=edge_vehicle,
                batch_number=f"L{n}",
                expiry_date=TODAY + dt.timedelta(days=100 + n),
                created_at=dt.datetime.now(dt.UTC),
            )
            for n in range(3)
        ]
        session.add_all(lots)
        session.commit()
        for which, kind, amount in moves:
            signed = amount if kind == "receipt" else -amount
            try:
                service.record_movement(
                    session,
                    vehicle_id=edge_vehicle,
                    lot_id=lots[which].id,
                    kind=kind,
                    quantity=signed,
                    actor_id="tester",
                    reason="counted",
                )
                session.commit()
                expected[which] += signed
            except Conflict:
                session.rollback()
                assert expected[which] + signed < 0
        ids = [lot.id for lot in lots]
        ledger = service.ledger_levels(session, edge_vehicle)
        held = levels_in(session)
        assert [ledger.get(i, 0) for i in ids] == expected
        assert [held.get(i, 0) for i in ids] == expected
        assert all(q >= 0 for q in expected)
        service.rebuild_levels(session)
        session.commit()
        assert [levels_in(session).get(i, 0) for i in ids] == expected
        session.commit()
