"""Head office registers its vehicles: details checked, names and plates unique, each
change bound for that vehicle's laptop, and only fleet planners (and administrators)
write; technicians issue the laptops' enrollment tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from schema.base import new_id, utcnow
from schema.models import SyncChange, Vehicle
from sync import inbox
from sync.change import Change
from sync.protocol import NO_CHAINS, Batch
from tests.support import rows
from tests.support.identity import Staff, make_vehicle
from tests.support.sync import enroll
from tests.support.tables import AUDIT_TABLES, row_counts

NORTH = {"name": "Clinic North", "registration_plate": "LP 001", "practice_number": "0123456"}


def test_a_registered_vehicle_is_listed_changed_and_bound_for_itself(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    with new_session(hub_engine) as session, session.begin():
        province = rows.province(session).id
    body = {**NORTH, "province_id": province}
    made = hub_client.post("/api/vehicles", json=body, headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    vehicle = made.get_json()["data"]
    assert (vehicle["province_id"], vehicle["status"]) == (province, "active")
    listed = hub_client.get("/api/vehicles", headers=admin.headers).get_json()
    assert [v["name"] for v in listed["data"]] == ["Clinic North"]

    path = f"/api/vehicles/{vehicle['id']}"
    changed = hub_client.put(path, json={"status": "inactive"}, headers=admin.headers)
    assert changed.status_code == 200 and changed.get_json()["data"]["status"] == "inactive"
    active = hub_client.get("/api/vehicles?status=active", headers=admin.headers).get_json()
    assert active["data"] == []
    with hub_engine.connect() as connection:
        scopes = set(
            connection.execute(
                select(SyncChange.scope_kind, SyncChange.scope_id).where(
                    SyncChange.table_name == "vehicle"
                )
            ).all()
        )
    assert scopes == {("vehicle", vehicle["id"])}
    token = hub_client.post(f"{path}/enrollment-tokens", headers=admin.headers)
    assert token.status_code == 409  # out of service: no laptop enrolls for it


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**NORTH, "practice_number": "12"},
        {**NORTH, "registration_plate": "lp 001!"},
        {**NORTH, "name": ""},
        {**NORTH, "province_id": "no-such-province"},
        {**NORTH, "colour": "white"},
    ],
)
def test_a_bad_vehicle_is_not_registered(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, body: dict[str, Any]
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    made = hub_client.post("/api/vehicles", json=body, headers=admin.headers)
    assert made.status_code == 400 and made.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_names_and_plates_are_unique_and_unknown_vehicles_are_404(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    first = hub_client.post("/api/vehicles", json=NORTH, headers=admin.headers).get_json()["data"]
    south = {"name": "Clinic South", "registration_plate": "LP 002", "practice_number": "0123457"}
    second = hub_client.post("/api/vehicles", json=south, headers=admin.headers).get_json()["data"]
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    again = hub_client.post("/api/vehicles", json={**NORTH, "name": "Other"}, headers=admin.headers)
    assert again.status_code == 409
    taken = {"name": "Clinic North"}
    clash = hub_client.put(f"/api/vehicles/{second['id']}", json=taken, headers=admin.headers)
    assert clash.status_code == 409
    assert (
        hub_client.put(f"/api/vehicles/{first['id']}", json={}, headers=admin.headers).status_code
        == 400
    )
    missing = hub_client.put("/api/vehicles/nope", json=taken, headers=admin.headers)
    assert missing.status_code == 404
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    same = hub_client.put(f"/api/vehicles/{first['id']}", json=taken, headers=admin.headers)
    assert same.status_code == 200  # its own name is not a clash


def test_only_fleet_planners_register_or_change_vehicles(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    roles = ("finance", "viewer", "nurse", "inventory_manager", "technician", "stock_controller")
    others = [hub_user(role) for role in roles]
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session).id
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    for staff in others:
        made = hub_client.post("/api/vehicles", json=NORTH, headers=staff.headers)
        changed = hub_client.put(f"/api/vehicles/{vehicle}", json=NORTH, headers=staff.headers)
        assert (made.status_code, changed.status_code) == (403, 403), staff.role
    assert {
        k: v for k, v in row_counts(hub_engine, ignore=AUDIT_TABLES).items() if k != "sync_change"
    } == {k: v for k, v in before.items() if k != "sync_change"}
    with new_session(hub_engine) as session:
        assert session.scalars(select(Vehicle.name)).all() == [
            session.get_one(Vehicle, vehicle).name
        ]


def test_the_device_list_counts_the_changes_waiting_for_each_vehicle(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    own, other = make_vehicle(hub_engine), make_vehicle(hub_engine)
    enroll(hub_engine, "d0000000000p1", own)

    def waiting() -> int:
        listed = hub_client.get("/api/sync/devices", headers=admin.headers).get_json()["data"]
        return next(d["pending"] for d in listed if d["id"] == "d0000000000p1")

    before = waiting()
    assert before >= 1  # at least its own vehicle row
    with new_session(hub_engine) as session, session.begin():
        rows.province(session)  # reference data: for every vehicle
    with new_session(hub_engine) as session, session.begin():
        session.get_one(Vehicle, other).name = "Elsewhere"  # another vehicle's row
    assert waiting() == before + 1
    with new_session(hub_engine) as session, session.begin():
        session.get_one(Vehicle, own).name = "Renamed"  # its own row
    assert waiting() == before + 2


def test_the_device_list_counts_the_changes_a_busy_hub_stored_for_each_device(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    enroll(hub_engine, "d0000000000s1", make_vehicle(hub_engine))

    def stored() -> int:
        listed = hub_client.get("/api/sync/devices", headers=admin.headers).get_json()["data"]
        return next(d["stored"] for d in listed if d["id"] == "d0000000000s1")

    assert stored() == 0
    change = Change("province", new_id(), "u", "0" * 16 + "@d0000000000s1", {})
    with hub_engine.begin() as connection:
        batch = Batch("b" * 32, 0, 3, [change] * 3)
        inbox.store(connection, "d0000000000s1", batch, NO_CHAINS, utcnow())
    assert stored() == 3


def test_a_fleet_planner_registers_vehicles_and_a_technician_enrolls_their_laptops(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    planner, technician = hub_user("fleet_planner"), hub_user("technician")
    made = hub_client.post("/api/vehicles", json=NORTH, headers=planner.headers)
    assert made.status_code == 201
    vehicle = made.get_json()["data"]["id"]
    tokens = f"/api/vehicles/{vehicle}/enrollment-tokens"
    assert hub_client.post(tokens, headers=planner.headers).status_code == 403
    assert hub_client.post(tokens, headers=technician.headers).status_code == 201
    page = hub_client.get("/vehicles", headers=planner.headers).get_data(as_text=True)
    assert "Clinic North" in page and "register-vehicle" in page
    assert "Enrollment token" not in page
    page = hub_client.get("/vehicles", headers=technician.headers).get_data(as_text=True)
    assert "Enrollment token" in page and "register-vehicle" not in page
