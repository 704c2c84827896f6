"""Head office plans routes: ordered stops cut into appointment slots, by API and CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from schema.models import AppointmentSlot, Location, Province, SyncChange, Vehicle
from tests.support.identity import Staff
from tests.support.tables import row_counts

DAY = "2026-12-07"


@pytest.fixture
def places(hub_engine: Engine) -> dict[str, str]:
    """A vehicle and two locations; returns their ids (and the vehicle's plate)."""
    with new_session(hub_engine) as session, session.begin():
        province = Province(code="LP", name="Limpopo")
        session.add(province)
        session.flush()
        vehicle = Vehicle(
            name="Clinic North", registration_plate="LP 001", practice_number="0123456"
        )
        first = Location(province_id=province.id, name="Tzaneen")
        second = Location(province_id=province.id, name="Giyani")
        session.add_all([vehicle, first, second])
    return {"vehicle": vehicle.id, "first": first.id, "second": second.id}


def route_body(places: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "vehicle_id": places["vehicle"],
        "route_date": DAY,
        "name": "North loop",
        "stops": [
            {
                "location_id": places["first"],
                "arrival_at": f"{DAY}T07:00:00Z",
                "departure_at": f"{DAY}T09:00:00Z",
                "slot_minutes": 30,
                "slot_capacity": 3,
            },
            {
                "location_id": places["second"],
                "arrival_at": f"{DAY}T10:00:00Z",
                "departure_at": f"{DAY}T10:20:00Z",
            },
        ],
        **extra,
    }


def test_a_planned_route_has_ordered_stops_and_slots_for_its_vehicle(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, places: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    made = hub_client.post("/api/routes", json=route_body(places), headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    route = made.get_json()["data"]
    first, second = route["stops"]
    assert (first["sequence"], first["location_name"]) == (1, "Tzaneen")
    assert [s["starts_at"][11:16] for s in first["slots"]] == ["07:00", "07:30", "08:00", "08:30"]
    assert {s["capacity"] for s in first["slots"]} == {3}
    assert len(second["slots"]) == 1  # a stop shorter than a slot is one slot
    again = hub_client.post("/api/routes", json=route_body(places), headers=admin.headers)
    assert again.status_code == 409
    listed = hub_client.get(
        f"/api/routes?vehicle_id={places['vehicle']}&date_from={DAY}", headers=admin.headers
    ).get_json()
    assert listed["pagination"]["total"] == 1 and listed["data"][0]["stops"][0]["slots"] == []
    one = hub_client.get(f"/api/routes/{route['id']}", headers=admin.headers).get_json()["data"]
    assert len(one["stops"][0]["slots"]) == 4
    with hub_engine.connect() as connection:
        scopes = set(
            connection.execute(
                select(SyncChange.scope_kind, SyncChange.scope_id).where(
                    SyncChange.table_name.in_(["route", "route_stop", "appointment_slot"])
                )
            ).all()
        )
    assert scopes == {("vehicle", places["vehicle"])}  # bound for that vehicle only


@pytest.mark.parametrize(
    "change",
    [
        {"vehicle_id": "no-such-vehicle"},
        {"route_date": "7 December"},
        {"stops": []},
        {"name": ""},
    ],
)
def test_a_bad_route_plans_nothing(
    hub_client: Any,
    hub_user: Callable[..., Staff],
    hub_engine: Engine,
    places: dict[str, str],
    change: dict[str, Any],
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    body = route_body(places, **change)
    response = hub_client.post("/api/routes", json=body, headers=admin.headers)
    assert response.status_code == 400 and response.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_stops_must_follow_one_another_and_exist(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, places: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    overlapping = route_body(places)
    overlapping["stops"][1]["arrival_at"] = f"{DAY}T08:00:00Z"
    backwards = route_body(places)
    backwards["stops"][0]["departure_at"] = f"{DAY}T06:00:00Z"
    nowhere = route_body(places)
    nowhere["stops"][0]["location_id"] = "no-such-place"
    for body in (overlapping, backwards, nowhere):
        response = hub_client.post("/api/routes", json=body, headers=admin.headers)
        assert response.status_code == 400, response.get_json()
    assert row_counts(hub_engine) == before


def test_crews_read_routes_but_only_planners_write(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, places: dict[str, str]
) -> None:
    for role in ("doctor", "clerk", "finance", "viewer"):
        staff = hub_user(role)
        response = hub_client.post("/api/routes", json=route_body(places), headers=staff.headers)
        assert response.status_code == 403, role
    assert row_counts(hub_engine)["route"] == 0
    assert hub_client.get("/api/routes", headers=hub_user("clerk").headers).status_code == 200


HEADER = "vehicle,route_date,route_name,sequence,location,arrival_at,departure_at,"
ROUTES_CSV = (
    HEADER
    + f"""slot_minutes,slot_capacity
LP 001,{DAY},North loop,2,Giyani,{DAY}T10:00:00Z,{DAY}T11:00:00Z,60,5
LP 001,{DAY},North loop,1,Tzaneen,{DAY}T07:00:00Z,{DAY}T09:00:00Z,,
Clinic North,2026-12-08,South loop,1,Giyani,2026-12-08T08:00:00Z,2026-12-08T09:00:00Z,20,2
"""
)


def post_csv(client: Any, text: str, staff: Staff) -> Any:
    headers = {**staff.headers, "Content-Type": "text/csv"}
    return client.post("/api/routes/import", data=text.encode(), headers=headers)


def test_routes_import_and_export_as_csv(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, places: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    imported = post_csv(hub_client, ROUTES_CSV, admin)
    assert imported.status_code == 200, imported.get_json()
    assert imported.get_json()["data"] == {"routes": 2, "stops": 3}
    with hub_engine.connect() as connection:
        assert connection.scalar(select(AppointmentSlot.id).limit(1)) is not None
    exported = hub_client.get("/api/routes/export.csv", headers=admin.headers)
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [(r["route_name"], r["sequence"], r["location"]) for r in rows] == [
        ("North loop", "1", "Tzaneen"),
        ("North loop", "2", "Giyani"),
        ("South loop", "1", "Giyani"),
    ]
    assert rows[1]["slot_minutes"] == "60" and rows[1]["slot_capacity"] == "5"
    assert rows[0]["vehicle"] == "LP 001"
    # The same file again: those routes are planned already, so nothing is imported.
    before = row_counts(hub_engine)
    again = post_csv(hub_client, ROUTES_CSV, admin)
    assert again.status_code == 400
    assert {r["line"] for r in again.get_json()["details"]["rows"]} == {2, 4}
    assert row_counts(hub_engine) == before


def test_a_routes_csv_with_bad_lines_plans_nothing(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, places: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    bad = ROUTES_CSV + (
        f"XX 999,{DAY},Lost,1,Tzaneen,{DAY}T07:00:00Z,{DAY}T08:00:00Z,,\n"
        f"LP 001,{DAY},Odd,1,Nowhere,{DAY}T07:00:00Z,{DAY}T08:00:00Z,,\n"
        f"LP 001,{DAY},Late,1,Tzaneen,{DAY}T09:00:00Z,{DAY}T08:00:00Z,,\n"
        f"LP 001,{DAY},Twice,1,Tzaneen,{DAY}T07:00:00Z,{DAY}T08:00:00Z,,\n"
        f"LP 001,{DAY},Twice,1,Giyani,{DAY}T09:00:00Z,{DAY}T10:00:00Z,,\n"
    )
    before = row_counts(hub_engine)
    response = post_csv(hub_client, bad, admin)
    assert response.status_code == 400
    lines = {row["line"]: row["errors"] for row in response.get_json()["details"]["rows"]}
    assert set(lines) == {5, 6, 7, 8}
    assert "vehicle" in lines[5] and "location" in lines[6]
    assert "departure_at" in lines[7] and "sequence" in lines[8]
    assert row_counts(hub_engine) == before
