"""Issue 7's end to end across real processes: a `clinic-hub serve` process on MySQL and
two vehicles' edges (SQLCipher) syncing over HTTP. People and routes made at head office
reach the right vehicle only (and so do their later changes: a deactivated user, a
cancelled route); visits from both vehicles appear in head office's figures. A supply
request made on a vehicle goes round the whole chain: approved and shipped at head office,
received into the vehicle's stock, and seen in the fleet's stock for that vehicle only."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import requests
from sqlalchemy import Engine

from common.database import new_session
from common.users import create_user
from edge import create_app
from edge.sync import service as edge_sync
from schema.base import utcnow
from schema.models import Location, Route
from tests.conftest import edge_config
from tests.hub import fleet_rows
from tests.hub.test_supply import LATER
from tests.support import rows
from tests.support.hubprocess import HubProcess, edge_for, head_office
from tests.support.identity import PASSWORD, make_vehicle
from tests.support.sync import count
from tests.sync.test_protocol import visit


def plan_route(base: str, headers: dict[str, str], hub_engine: Engine, vehicle: str) -> str:
    """A route planned through the hub's API (as head office would); its id."""
    with new_session(hub_engine) as session, session.begin():
        place = Location(province_id=rows.province(session).id, name="Musina")
        session.add(place)
    day = utcnow().date() + dt.timedelta(days=3)
    stop = {
        "location_id": place.id,
        "arrival_at": f"{day}T07:00:00Z",
        "departure_at": f"{day}T09:00:00Z",
    }
    body = {"vehicle_id": vehicle, "route_date": str(day), "name": "Border run", "stops": [stop]}
    made = requests.post(f"{base}/api/routes", json=body, headers=headers, timeout=10)
    assert made.status_code == 201, made.json()
    return str(made.json()["data"]["id"])


def test_head_office_and_two_vehicles(
    hub_process: HubProcess,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    hub = hub_process
    engines: list[Engine] = []
    try:
        a, config_a, vehicle_a = edge_for("a", hub, hub_engine, edge_template, edge_key, tmp_path)
        b, config_b, vehicle_b = edge_for("b", hub, hub_engine, edge_template, edge_key, tmp_path)
        engines += [a, b]
        with new_session(hub_engine) as session, session.begin():
            nurse_id = create_user(
                session,
                username="nurse.a",
                full_name="Nurse A",
                role="nurse",
                password=PASSWORD,
                vehicle_ids=[vehicle_a],
            ).id
            create_user(
                session,
                username="head.admin",
                full_name="Head Admin",
                role="administrator",
                password=PASSWORD,
            )
            session.add(
                Route(
                    vehicle_id=vehicle_b,
                    route_date=dt.date(2026, 12, 3),
                    name="B's Tuesday",
                    created_by="planner",
                    created_at=utcnow(),
                )
            )
        for engine, vehicle in ((a, vehicle_a), (b, vehicle_b)):
            with new_session(engine) as session, session.begin():
                visit(session, rows.patient(session), vehicle)
        edge_sync.run(a, config_a)
        edge_sync.run(b, config_b)
        assert count(a, "SELECT count(*) FROM user WHERE username = 'nurse.a'") == 1
        assert count(b, "SELECT count(*) FROM user WHERE username = 'nurse.a'") == 0
        assert count(a, "SELECT count(*) FROM user WHERE username = 'head.admin'") == 0
        assert count(b, "SELECT count(*) FROM route") == 1
        assert count(a, "SELECT count(*) FROM route") == 0
        headers = head_office(hub)
        exported = requests.get(hub.base + "/api/sync/visits", headers=headers, timeout=10)
        assert exported.status_code == 200
        vehicles = {v["vehicle_id"] for v in exported.json()["data"]}
        assert vehicles == {vehicle_a, vehicle_b}
        for vehicle, seen in ((None, 2), (vehicle_a, 1), (vehicle_b, 1)):
            query = f"?vehicle_id={vehicle}" if vehicle else ""
            url = f"{hub.base}/api/dashboard/stats{query}"
            stats = requests.get(url, headers=headers, timeout=10)
            assert stats.json()["data"]["visits"]["total"] == seen, stats.json()

        # Head office changes its mind: nurse A leaves, B's route is planned and called off.
        left = requests.post(
            f"{hub.base}/api/users/{nurse_id}/deactivate", headers=headers, timeout=10
        )
        assert left.status_code == 200, left.json()
        route = plan_route(hub.base, headers, hub_engine, vehicle_b)
        edge_sync.run(b, config_b)
        assert count(b, f"SELECT count(*) FROM route_stop WHERE route_id = '{route}'") == 1
        url = f"{hub.base}/api/routes/{route}/cancel"
        called_off = requests.post(url, json={"reason": "Flood"}, headers=headers, timeout=10)
        assert called_off.status_code == 200, called_off.json()
        edge_sync.run(a, config_a)
        edge_sync.run(b, config_b)
        assert count(a, "SELECT count(*) FROM user WHERE username = 'nurse.a' AND NOT active") == 1
        assert (
            count(b, f"SELECT count(*) FROM route WHERE id = '{route}' AND status = 'cancelled'")
            == 1
        )
        assert count(a, f"SELECT count(*) FROM route WHERE id = '{route}'") == 0
    finally:
        for engine in engines:
            engine.dispose()
        hub.stop()


def test_a_supply_request_is_delivered_into_the_vehicles_stock(
    hub_process: HubProcess,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    hub = hub_process
    engine: Engine | None = None
    try:
        engine, config, vehicle = edge_for("s", hub, hub_engine, edge_template, edge_key, tmp_path)
        other = make_vehicle(hub_engine, name="Clinic other")
        with new_session(hub_engine) as session, session.begin():
            item = fleet_rows.item(session, "Gauze").id
            for username, role, vehicles in (
                ("head.admin", "administrator", []),
                ("stores.s", "inventory_manager", [vehicle]),
            ):
                create_user(
                    session,
                    username=username,
                    full_name=username,
                    role=role,
                    password=PASSWORD,
                    vehicle_ids=vehicles,
                )
        edge_sync.run(engine, config)  # the item and the vehicle's stores manager arrive
        app = create_app(edge_config(tmp_path / "s.db", edge_key))
        client = app.test_client()
        login = client.post(
            "/api/auth/login", json={"username": "stores.s", "password": PASSWORD}
        ).get_json()
        crew = {"Authorization": f"Bearer {login['data']['access_token']}"}

        def on_hand() -> int:
            """The edge's quantity of the delivered lot, through its API."""
            stock = client.get("/api/inventory/stock", headers=crew).get_json()["data"]
            lots = [lot for row in stock if row["id"] == item for lot in row["lots"]]
            return sum(lot["quantity"] for lot in lots if lot["batch_number"] == "GZ-1")

        lot = {"item_id": item, "batch_number": "GZ-1", "expiry_date": LATER}
        held = client.post("/api/inventory/stock", json={**lot, "quantity": 30}, headers=crew)
        assert held.status_code == 201, held.get_json()
        assert on_hand() == 30
        body = {"priority": "urgent", "lines": [{"item_id": item, "quantity": 200}]}
        asked = client.post("/api/supply-requests", json=body, headers=crew)
        assert asked.status_code == 201, asked.get_json()
        request = asked.get_json()["data"]["id"]
        edge_sync.run(engine, config)

        headers = head_office(hub)
        base = f"{hub.base}/api/supply-requests/{request}"
        seen = requests.get(base, headers=headers, timeout=10).json()["data"]
        assert seen["vehicle_id"] == vehicle and seen["status"] == "pending"
        approved = requests.post(f"{base}/approve", headers=headers, timeout=10)
        assert approved.status_code == 200, approved.json()
        shipment = {
            "carrier": "Courier Guy",
            "tracking_number": "CG-9",
            "lines": [lot | {"quantity": 200}],
        }
        made = requests.post(f"{base}/deliveries", json=shipment, headers=headers, timeout=10)
        assert made.status_code == 201, made.json()
        delivery = made.json()["data"]["deliveries"][0]["id"]
        status = f"{hub.base}/api/deliveries/{delivery}/status"
        for step in ("shipped", "delivered"):
            moved = requests.post(status, json={"status": step}, headers=headers, timeout=10)
            assert moved.status_code == 200, moved.json()
        edge_sync.run(engine, config)

        arrived = client.get("/api/deliveries", headers=crew).get_json()["data"]
        assert [(d["id"], d["status"]) for d in arrived] == [(delivery, "delivered")]
        assert arrived[0]["lines"][0]["quantity"] == 200
        received = client.post(f"/api/deliveries/{delivery}/receive", headers=crew)
        assert received.status_code == 200, received.get_json()
        assert on_hand() == 230
        edge_sync.run(engine, config)

        fleet = requests.get(f"{hub.base}/api/stock/fleet?q=Gauze", headers=headers, timeout=10)
        levels = {
            level["vehicle_id"]: level["quantity"] for level in fleet.json()["data"][0]["levels"]
        }
        assert levels == {vehicle: 230, other: 0}
        back = requests.get(base, headers=headers, timeout=10).json()["data"]
        assert back["status"] == "fulfilled"
        assert back["deliveries"][0]["status"] == "received"
    finally:
        if engine is not None:
            engine.dispose()
