"""Head office changes or cancels a planned route: stops move with its day, patients
already booked are never silently dropped, and every change is bound for its vehicle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from schema.base import new_id, utcnow
from schema.models import Appointment, RouteStop, SyncChange
from tests.hub.test_planning import DAY, places, route_body
from tests.support import rows
from tests.support.identity import Staff
from tests.support.tables import AUDIT_TABLES, row_counts

__all__ = ["places"]  # the fixture, shared with the planning tests


@dataclass(frozen=True)
class Planned:
    admin: Staff
    route: dict[str, Any]
    places: dict[str, str]


@pytest.fixture
def planned(hub_client: Any, hub_user: Callable[..., Staff], places: dict[str, str]) -> Planned:
    """An administrator, the route they planned, and its vehicle and locations."""
    admin = hub_user("administrator")
    made = hub_client.post("/api/routes", json=route_body(places), headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    return Planned(admin, made.get_json()["data"], places)


def book(engine: Engine, route: dict[str, Any]) -> str:
    """A patient booked on the vehicle into the route's first slot (as synced in)."""
    slot = route["stops"][0]["slots"][0]
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
        appointment = Appointment(
            slot_id=slot["id"],
            vehicle_id=route["vehicle_id"],
            patient_id=patient.id,
            status="booked",
            booked_by=new_id(),
            booked_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(appointment)
    return appointment.id


def planning_changes(engine: Engine) -> list[tuple[str, str]]:
    """Every change captured for the planning tables (what the vehicle would receive)."""
    tables = ("route", "route_stop", "appointment_slot", "appointment")
    query = select(SyncChange.row_id, SyncChange.version).where(SyncChange.table_name.in_(tables))
    with engine.connect() as connection:
        return sorted(tuple(row) for row in connection.execute(query))


def test_moving_a_route_moves_its_stops_and_slots_for_the_vehicle(
    hub_client: Any, hub_engine: Engine, planned: Planned
) -> None:
    admin, route = planned.admin, planned.route
    body = {"route_date": "2026-12-09", "name": "North loop (moved)"}
    moved = hub_client.patch(f"/api/routes/{route['id']}", json=body, headers=admin.headers)
    assert moved.status_code == 200, moved.get_json()
    got = hub_client.get(f"/api/routes/{route['id']}", headers=admin.headers).get_json()["data"]
    assert (got["route_date"], got["name"]) == ("2026-12-09", "North loop (moved)")
    assert got["stops"][0]["arrival_at"].startswith("2026-12-09T07:00")
    assert {s["starts_at"][:10] for s in got["stops"][0]["slots"]} == {"2026-12-09"}
    with hub_engine.connect() as connection:
        updates = connection.execute(
            select(SyncChange.table_name, SyncChange.scope_id).where(SyncChange.op == "u")
        ).all()
    assert {t for t, _ in updates} == {"route", "route_stop", "appointment_slot"}
    assert {s for _, s in updates} == {route["vehicle_id"]}


def test_replacing_the_stops_deletes_the_old_ones_with_tombstones(
    hub_client: Any, hub_engine: Engine, planned: Planned
) -> None:
    admin, route, places = planned.admin, planned.route, planned.places
    stop = {
        "location_id": places["second"],
        "arrival_at": f"{DAY}T12:00:00Z",
        "departure_at": f"{DAY}T13:00:00Z",
    }
    path = f"/api/routes/{route['id']}"
    changed = hub_client.patch(path, json={"stops": [stop]}, headers=admin.headers)
    assert changed.status_code == 200, changed.get_json()
    got = hub_client.get(path, headers=admin.headers).get_json()["data"]
    assert [(s["location_name"], len(s["slots"])) for s in got["stops"]] == [("Giyani", 2)]
    old = [s["id"] for s in route["stops"]]
    with hub_engine.connect() as connection:
        left = connection.scalars(select(RouteStop.id).where(RouteStop.id.in_(old))).all()
        deleted = connection.execute(
            select(SyncChange.row_id, SyncChange.scope_id).where(SyncChange.op == "d")
        ).all()
    assert left == []
    assert {r for r, _ in deleted} >= set(old)  # the vehicle deletes them too
    assert {s for _, s in deleted} == {route["vehicle_id"]}


def test_a_route_with_booked_patients_is_neither_moved_nor_silently_cancelled(
    hub_client: Any, hub_engine: Engine, planned: Planned
) -> None:
    admin, route = planned.admin, planned.route
    appointment = book(hub_engine, route)
    path = f"/api/routes/{route['id']}"
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    moved = hub_client.patch(path, json={"route_date": "2026-12-09"}, headers=admin.headers)
    assert moved.status_code == 409 and "1 patients are booked" in moved.get_json()["error"]
    refused = hub_client.post(f"{path}/cancel", json={"reason": "Flat tyre"}, headers=admin.headers)
    assert refused.status_code == 409 and "cancel_appointments" in refused.get_json()["error"]
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    assert hub_client.get(path, headers=admin.headers).get_json()["data"]["booked"] == 1

    body = {"reason": "Flat tyre", "cancel_appointments": True}
    cancelled = hub_client.post(f"{path}/cancel", json=body, headers=admin.headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    assert cancelled.get_json()["data"]["status"] == "cancelled"
    with new_session(hub_engine) as session:
        row = session.get_one(Appointment, appointment)
    assert row.status == "cancelled" and row.reason == "Route cancelled at head office: Flat tyre"
    again = hub_client.post(f"{path}/cancel", headers=admin.headers)
    assert again.status_code == 409
    renamed = hub_client.patch(path, json={"name": "Back on"}, headers=admin.headers)
    assert renamed.status_code == 409 and "cancelled" in renamed.get_json()["error"]


def test_stops_with_appointments_made_in_them_are_not_replaced(
    hub_client: Any, hub_engine: Engine, planned: Planned
) -> None:
    admin, route, places = planned.admin, planned.route, planned.places
    book(hub_engine, route)
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    body = {"stops": route_body(places)["stops"][:1]}
    changed = hub_client.patch(f"/api/routes/{route['id']}", json=body, headers=admin.headers)
    assert changed.status_code == 409
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"route_date": "9 December"},
        {"name": ""},
        {"stops": []},
        {
            "stops": [
                {
                    "location_id": "no-such-place",
                    "arrival_at": f"{DAY}T07:00:00Z",
                    "departure_at": f"{DAY}T08:00:00Z",
                }
            ]
        },
        {"unknown": 1},
    ],
)
def test_a_bad_route_change_writes_nothing(
    hub_client: Any,
    hub_engine: Engine,
    planned: Planned,
    body: dict[str, Any],
) -> None:
    admin, route = planned.admin, planned.route
    before = row_counts(hub_engine)
    changed = hub_client.patch(f"/api/routes/{route['id']}", json=body, headers=admin.headers)
    assert changed.status_code == 400 and changed.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_only_planners_change_or_cancel_routes_and_unknown_ones_are_404(
    hub_client: Any,
    hub_user: Callable[..., Staff],
    hub_engine: Engine,
    planned: Planned,
) -> None:
    admin, route = planned.admin, planned.route
    others = [hub_user(role) for role in ("doctor", "clerk", "finance", "viewer")]
    before = row_counts(hub_engine, ignore=AUDIT_TABLES), planning_changes(hub_engine)
    path = f"/api/routes/{route['id']}"
    for staff in others:
        patch = hub_client.patch(path, json={"name": "Mine"}, headers=staff.headers)
        cancel = hub_client.post(f"{path}/cancel", headers=staff.headers)
        assert (patch.status_code, cancel.status_code) == (403, 403), staff.role
    missing = hub_client.patch("/api/routes/nope", json={"name": "X"}, headers=admin.headers)
    assert missing.status_code == 404
    assert hub_client.post("/api/routes/nope/cancel", headers=admin.headers).status_code == 404
    after = row_counts(hub_engine, ignore=AUDIT_TABLES), planning_changes(hub_engine)
    assert after[1] == before[1]  # refusals are audited (and synced); routes are untouched
    assert {**after[0], "sync_change": 0} == {**before[0], "sync_change": 0}
