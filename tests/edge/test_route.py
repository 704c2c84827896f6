"""Routes and locations on the edge: planned days of ordered stops cut into slots."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from schema.models import AppointmentSlot, AuditRecord, Route
from tests.support.identity import make_vehicle
from tests.support.operations import day_plan, make_location
from tests.support.tables import row_counts


def test_a_route_is_made_with_ordered_stops_and_slots(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    admin = edge_user("administrator")
    plan = day_plan(make_location(edge_engine), capacity=3, slots=4)
    response = edge_client.post("/api/routes", json=plan, headers=admin.headers)
    assert response.status_code == 201, response.get_json()
    route = response.get_json()["data"]
    assert route["vehicle_id"] == edge_vehicle and route["stop_count"] == 1
    [stop] = route["stops"]
    assert [s["capacity"] for s in stop["slots"]] == [3, 3, 3, 3]
    assert stop["slots"][0]["starts_at"] == plan["stops"][0]["arrival_at"]
    assert stop["slots"][-1]["ends_at"] == plan["stops"][0]["departure_at"]

    clerk = edge_user("clerk")
    listed = edge_client.get("/api/routes", headers=clerk.headers).get_json()
    assert [r["id"] for r in listed["data"]] == [route["id"]]
    assert listed["pagination"] == {"page": 1, "per_page": 20, "total": 1, "pages": 1}
    one = edge_client.get(f"/api/routes/{route['id']}", headers=clerk.headers).get_json()["data"]
    assert one["stops"][0]["slots"][0]["available"] == 3
    with edge_engine.connect() as connection:
        actions = connection.scalars(select(AuditRecord.action)).all()
    assert "route_created" in actions


def test_another_vehicles_route_is_not_found(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    admin = edge_user("administrator")
    route_id = edge_client.post(
        "/api/routes", json=day_plan(make_location(edge_engine)), headers=admin.headers
    ).get_json()["data"]["id"]
    other = make_vehicle(edge_engine)
    with new_session(edge_engine) as session, session.begin():
        route = session.get_one(Route, route_id)
        route.vehicle_id = other
    assert edge_client.get(f"/api/routes/{route_id}", headers=admin.headers).status_code == 404
    assert edge_client.get("/api/routes", headers=admin.headers).get_json()["data"] == []


def _stops_out_of_order(plan: dict[str, Any]) -> dict[str, Any]:
    second = dict(plan["stops"][0])
    plan["stops"].append(second)  # arrives before the first departs
    return plan


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda p: {**p, "stops": []}, 400),
        (lambda p: {**p, "route_date": "tomorrow"}, 400),
        (lambda p: {k: v for k, v in p.items() if k != "name"}, 400),
        (
            lambda p: {
                **p,
                "stops": [{**p["stops"][0], "departure_at": p["stops"][0]["arrival_at"]}],
            },
            400,
        ),
        (lambda p: {**p, "stops": [{**p["stops"][0], "arrival_at": "2026-12-02T08:00:00"}]}, 400),
        (lambda p: {**p, "stops": [{**p["stops"][0], "slot_capacity": 0}]}, 400),
        (lambda p: {**p, "stops": [{**p["stops"][0], "location_id": "nope"}]}, 404),
        (_stops_out_of_order, 400),
    ],
)
def test_bad_routes_are_refused_and_change_nothing(
    edge_client: Any, edge_user: Any, edge_engine: Engine, change: Any, status: int
) -> None:
    admin = edge_user("administrator")
    plan = day_plan(make_location(edge_engine))
    before = row_counts(edge_engine)
    response = edge_client.post("/api/routes", json=change(plan), headers=admin.headers)
    assert response.status_code == status
    assert response.get_json()["success"] is False
    assert row_counts(edge_engine) == before


def test_locations_are_made_and_listed(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    clerk = edge_user("clerk")
    make_location(edge_engine, "Existing")
    province = edge_client.get("/api/provinces", headers=clerk.headers).get_json()["data"][0]
    body = {
        "province_id": province["id"],
        "name": "Mabopane Hall",
        "address": "Block X",
        "latitude": -25.5,
        "longitude": 28.1,
    }
    response = edge_client.post("/api/locations", json=body, headers=clerk.headers)
    assert response.status_code == 201
    assert response.get_json()["data"]["latitude"] == -25.5
    names = [
        loc["name"]
        for loc in edge_client.get("/api/locations", headers=clerk.headers).get_json()["data"]
    ]
    assert names == ["Existing", "Mabopane Hall"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"province_id": "unknown", "name": "x"},
        {"province_id": "p", "name": "x", "latitude": 91},
        {"province_id": "p", "name": ""},
    ],
)
def test_bad_locations_are_refused(
    edge_client: Any, edge_user: Any, edge_engine: Engine, body: dict[str, Any]
) -> None:
    clerk = edge_user("clerk")
    before = row_counts(edge_engine)
    response = edge_client.post("/api/locations", json=body, headers=clerk.headers)
    assert response.status_code in (400, 404)
    assert row_counts(edge_engine) == before


def test_slots_hold_no_vehicle_but_this_one(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    admin = edge_user("administrator")
    edge_client.post(
        "/api/routes", json=day_plan(make_location(edge_engine)), headers=admin.headers
    )
    with edge_engine.connect() as connection:
        vehicles = set(connection.scalars(select(AppointmentSlot.vehicle_id)))
    assert vehicles == {edge_vehicle}


@pytest.mark.parametrize(
    "path",
    [
        "/api/routes?date_from=soon",
        "/api/appointments/availability",
        "/api/appointments/availability?date=2026-13-01",
        "/api/appointments?status=maybe",
        "/api/inventory/stock?per_page=0",
        "/api/inventory/movements?kind=gift",
        "/api/assets?status=lost",
        "/api/supply-requests?status=lost",
        "/api/deliveries?page=x",
        "/crew/day?date=someday",
    ],
)
def test_bad_queries_are_400(edge_client: Any, edge_user: Any, path: str) -> None:
    admin = edge_user("administrator")
    response = edge_client.get(path, headers={**admin.headers, "Accept": "application/json"})
    assert response.status_code == 400
