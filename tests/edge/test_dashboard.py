"""The dashboard counts today's work on this vehicle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine

from common.database import new_session
from schema.models import Route
from tests.support.operations import (
    day_plan,
    make_item,
    make_location,
    make_patient,
    plan_route,
)


def test_dashboard_stats_count_today(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    admin, clerk = edge_user("administrator"), edge_user("clerk")
    route_id = plan_route(edge_engine, edge_vehicle, day_plan(make_location(edge_engine)))
    route = edge_client.get(f"/api/routes/{route_id}", headers=admin.headers).get_json()["data"]
    slot = route["stops"][0]["slots"][0]["id"]
    body = {"slot_id": slot, "patient_id": make_patient(edge_engine)}
    assert (
        edge_client.post("/api/appointments", json=body, headers=clerk.headers).status_code == 201
    )
    with new_session(edge_engine) as session, session.begin():
        session.get_one(Route, route["id"]).route_date = dt.date.today()  # the route is today's
    make_item(edge_engine, "Gloves", reorder_level=10)
    stats = edge_client.get(
        "/api/dashboard/stats", headers=edge_user("finance").headers
    ).get_json()["data"]
    assert stats["date"] == dt.date.today().isoformat()
    assert stats["route"] == {"id": route["id"], "name": route["name"]}
    assert stats["appointments"]["booked"] == 1
    assert stats["stock"] == {"low": 1, "expiring": 0, "expired": 0}
    assert stats["alerts"] == {"low": 0, "medium": 0, "high": 0, "critical": 0}
