"""Routes and locations on the edge: planned days of ordered stops cut into slots, made
at head office and read here."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from schema.models import AppointmentSlot
from tests.support.identity import make_vehicle
from tests.support.operations import day_plan, make_location, plan_route
from tests.support.tables import row_counts


def test_a_route_from_head_office_shows_its_ordered_stops_and_slots(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    plan = day_plan(make_location(edge_engine), capacity=3, slots=4)
    route_id = plan_route(edge_engine, edge_vehicle, plan)
    clerk = edge_user("clerk")
    listed = edge_client.get("/api/routes", headers=clerk.headers).get_json()
    assert [r["id"] for r in listed["data"]] == [route_id]
    assert listed["pagination"] == {"page": 1, "per_page": 20, "total": 1, "pages": 1}
    route = edge_client.get(f"/api/routes/{route_id}", headers=clerk.headers).get_json()["data"]
    assert route["vehicle_id"] == edge_vehicle and route["stop_count"] == 1
    [stop] = route["stops"]
    assert [s["capacity"] for s in stop["slots"]] == [3, 3, 3, 3]
    assert [s["available"] for s in stop["slots"]] == [3, 3, 3, 3]
    assert stop["slots"][0]["starts_at"] == plan["stops"][0]["arrival_at"]
    assert stop["slots"][-1]["ends_at"] == plan["stops"][0]["departure_at"]


def test_another_vehicles_route_is_not_found(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    admin = edge_user("administrator")
    other = make_vehicle(edge_engine)
    route_id = plan_route(edge_engine, other, day_plan(make_location(edge_engine)))
    assert edge_client.get(f"/api/routes/{route_id}", headers=admin.headers).status_code == 404
    assert edge_client.get("/api/routes", headers=admin.headers).get_json()["data"] == []


@pytest.mark.parametrize("path", ["/api/routes", "/api/locations"])
def test_the_crew_cannot_plan_routes_or_places_head_office_does(
    edge_client: Any, edge_user: Any, edge_engine: Engine, path: str
) -> None:
    """Routes and locations are head-office data: the hub would refuse a laptop's own,
    so the vehicle offers no way to make them."""
    admin = edge_user("administrator")
    body = {"name": "x", **day_plan(make_location(edge_engine))}
    before = row_counts(edge_engine)
    response = edge_client.post(path, json=body, headers=admin.headers)
    assert response.status_code == 405
    assert response.get_json()["success"] is False
    assert row_counts(edge_engine) == before


def test_locations_and_provinces_are_listed(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    clerk = edge_user("clerk")
    make_location(edge_engine, "Mabopane Hall")
    make_location(edge_engine, "Existing")
    province = edge_client.get("/api/provinces", headers=clerk.headers).get_json()["data"][0]
    assert province["code"] == "GP"
    names = [
        loc["name"]
        for loc in edge_client.get("/api/locations", headers=clerk.headers).get_json()["data"]
    ]
    assert names == ["Existing", "Mabopane Hall"]


def test_slots_hold_no_vehicle_but_this_one(edge_engine: Engine, edge_vehicle: str) -> None:
    plan_route(edge_engine, edge_vehicle, day_plan(make_location(edge_engine)))
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
