"""Head office's scope: a crew role or the viewer sees only the vehicles they are
assigned to; head office's roles see the fleet; a stock controller sees stock alerts.

The first tests replay the finding that opened this work: with a nurse of vehicle A's
token, the hub listed B's visits with their patients, showed B's critical vital-signs
alert and let the nurse acknowledge it (which stops its escalation), and showed B in
the fleet, its stock and the dashboard's figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine

from common.access import Actor
from common.database import new_session
from common.errors import BadRequest, Forbidden, NotFound
from hub import csvfile, scope
from hub.alert import job
from hub.claims import service as claims
from hub.planning import service as planning
from hub.planning.schemas import RouteCsvRow, RouteIn
from schema.base import utcnow
from schema.models import Alert
from tests.hub import fleet_rows
from tests.support import rows
from tests.support.identity import Staff
from tests.support.operations import day_plan, make_location

TODAY = utcnow().date()


@pytest.fixture
def two(hub_engine: Engine) -> dict[str, str]:
    """Vehicles A and B, each with a visit today, a critical vital-signs alert, stock
    and a synced laptop."""
    made: dict[str, str] = {}
    with new_session(hub_engine) as session, session.begin():
        item = fleet_rows.item(session, "Paracetamol", reorder_level=10)
        for tag in ("a", "b"):
            vehicle = rows.vehicle(session, name=f"Clinic {tag.upper()}")
            visit = fleet_rows.visit(session, vehicle.id, TODAY, "nursing_assessment")
            alert = fleet_rows.alert(
                session,
                vehicle.id,
                kind="critical_vital",
                priority="critical",
                title="Critical vital signs",
                created_at=utcnow() - dt.timedelta(minutes=40),
            )
            fleet_rows.stock(session, vehicle.id, item, 30, TODAY + dt.timedelta(days=400))
            fleet_rows.synced_device(session, vehicle.id, utcnow())
            made |= {
                tag: vehicle.id,
                f"{tag}_visit": visit.id,
                f"{tag}_patient": visit.patient_id,
                f"{tag}_alert": alert.id,
            }
    return made


def data(client: Any, path: str, staff: Staff) -> Any:
    response = client.get(path, headers=staff.headers)
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()["data"]


def test_a_nurse_of_a_exports_none_of_bs_visits(
    hub_client: Any, hub_user: Callable[..., Staff], two: dict[str, str]
) -> None:
    nurse = hub_user("nurse", vehicle_ids=[two["a"]])
    asked_for_b = hub_client.get(f"/api/sync/visits?vehicle_id={two['b']}", headers=nurse.headers)
    assert asked_for_b.status_code == 200
    assert asked_for_b.get_json()["data"] == []
    assert asked_for_b.get_json()["pagination"]["total"] == 0
    assert two["b_patient"] not in asked_for_b.get_data(as_text=True)
    shown = data(hub_client, "/api/sync/visits", nurse)
    assert [(v["id"], v["patient_id"]) for v in shown] == [(two["a_visit"], two["a_patient"])]
    csv = hub_client.get(
        f"/api/sync/visits?format=csv&vehicle_id={two['b']}", headers=nurse.headers
    )
    assert two["b_visit"] not in csv.get_data(as_text=True)


def test_bs_critical_alert_is_invisible_to_a_nurse_of_a_and_keeps_escalating(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, two: dict[str, str]
) -> None:
    nurse = hub_user("nurse", vehicle_ids=[two["a"]])
    assert [a["id"] for a in data(hub_client, "/api/alerts", nurse)] == [two["a_alert"]]
    assert data(hub_client, f"/api/alerts?vehicle_id={two['b']}", nurse) == []
    for action in ("acknowledge", "resolve"):
        refused = hub_client.post(f"/api/alerts/{two['b_alert']}/{action}", headers=nurse.headers)
        assert refused.status_code == 404
        assert refused.get_json()["error"] == "No such alert"
    with new_session(hub_engine) as session:
        assert session.get_one(Alert, two["b_alert"]).status == "active"
        assert job.escalate(session, utcnow()).escalated == 2  # B's escalates, as A's does
    ours = hub_client.post(f"/api/alerts/{two['a_alert']}/acknowledge", headers=nurse.headers)
    assert ours.status_code == 200 and ours.get_json()["data"]["status"] == "acknowledged"


def test_fleet_stock_fleet_health_and_dashboard_figures_show_only_a(
    hub_client: Any, hub_user: Callable[..., Staff], two: dict[str, str]
) -> None:
    nurse = hub_user("nurse", vehicle_ids=[two["a"]])
    assert [v["id"] for v in data(hub_client, "/api/fleet", nurse)] == [two["a"]]
    stock = data(hub_client, "/api/stock/fleet", nurse)
    assert [level["vehicle_id"] for level in stock[0]["levels"]] == [two["a"]]
    stats = data(hub_client, "/api/dashboard/stats", nurse)
    assert stats["vehicles"]["total"] == 1
    assert (stats["visits"]["total"], stats["patients_seen"]) == (1, 1)
    assert stats["alerts"] == {"open": 1, "by_priority": {"critical": 1}}
    of_b = data(hub_client, f"/api/dashboard/stats?vehicle_id={two['b']}", nurse)
    assert (of_b["visits"]["total"], of_b["patients_seen"], of_b["alerts"]["open"]) == (0, 0, 0)
    page = hub_client.get("/", headers=nurse.headers).get_data(as_text=True)
    assert "Clinic A" in page and "Clinic B" not in page
    head_office = hub_user("administrator")  # a fleet-wide role still sees the fleet
    assert data(hub_client, "/api/dashboard/stats", head_office)["visits"]["total"] == 2


def test_an_assignment_made_or_removed_applies_at_the_next_request(
    hub_client: Any, hub_user: Callable[..., Staff], two: dict[str, str]
) -> None:
    admin, viewer = hub_user("administrator"), hub_user("viewer")
    assert data(hub_client, "/api/vehicles", viewer) == []  # assigned nowhere: sees nothing
    assert data(hub_client, "/api/alerts", viewer) == []
    path = f"/api/users/{viewer.id}/vehicles"
    assigned = hub_client.post(path, json={"vehicle_id": two["b"]}, headers=admin.headers)
    assert assigned.status_code == 200
    assert [v["id"] for v in data(hub_client, "/api/vehicles", viewer)] == [two["b"]]
    assert hub_client.delete(f"{path}/{two['b']}", headers=admin.headers).status_code == 200
    assert data(hub_client, "/api/vehicles", viewer) == []


def test_a_stock_controller_sees_the_fleets_stock_alerts_and_no_critical_vitals(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, two: dict[str, str]
) -> None:
    with new_session(hub_engine) as session, session.begin():
        low = fleet_rows.alert(session, two["b"], kind="low_stock").id
        expiring = fleet_rows.alert(session, two["a"], kind="stock_expiry").id
    controller = hub_user("stock_controller")
    shown = {a["id"] for a in data(hub_client, "/api/alerts", controller)}
    assert shown == {low, expiring}
    vital = hub_client.post(f"/api/alerts/{two['b_alert']}/acknowledge", headers=controller.headers)
    assert vital.status_code == 404
    done = hub_client.post(f"/api/alerts/{low}/acknowledge", headers=controller.headers)
    assert done.status_code == 200
    stats = data(hub_client, "/api/dashboard/stats", controller)
    assert stats["alerts"]["by_priority"] == {"high": 2}


def crew(staff: Staff) -> Actor:
    return Actor(staff.id, staff.username, staff.full_name, staff.role, None, None, None)


def test_services_refuse_a_vehicle_scoped_caller_what_is_not_theirs(
    hub_engine: Engine, hub_user: Callable[..., Staff], two: dict[str, str]
) -> None:
    """What no crew role may do through the API today (their roles lack the permission)
    is refused by the services too: planning for another vehicle (one route or a CSV of
    them), reading another vehicle's route, a fleet-wide run of the PALMED pipeline."""
    plan = day_plan(make_location(hub_engine))
    actor = crew(hub_user("clerk", vehicle_ids=[two["a"]]))
    with new_session(hub_engine) as session:
        with pytest.raises(BadRequest) as refused:
            planning.create_route(session, actor, RouteIn().load({**plan, "vehicle_id": two["b"]}))
        assert refused.value.details == {"vehicle_id": ["No such vehicle"]}
        session.rollback()
        mine = planning.create_route(
            session, actor, RouteIn().load({**plan, "vehicle_id": two["a"]})
        )
        assert mine["vehicle_id"] == two["a"]
        with pytest.raises(NotFound):
            planning.get_route(session, crew(hub_user("nurse", vehicle_ids=[two["b"]])), mine["id"])
        session.rollback()
        routes_csv = (
            ",".join(planning.CSV_COLUMNS)
            + f"\nClinic B,{TODAY + dt.timedelta(days=2)},Imported,1,Soshanguve Clinic Yard,"
            + f"{TODAY + dt.timedelta(days=2)}T08:00:00+00:00,"
            + f"{TODAY + dt.timedelta(days=2)}T09:00:00+00:00,30,2\n"
        )
        parsed = csvfile.read(routes_csv, RouteCsvRow(), ("vehicle", "route_date"))
        with pytest.raises(BadRequest) as refused:
            planning.import_routes(session, actor, parsed)
        assert refused.value.details["rows"][0]["errors"] == {
            "vehicle": ["No vehicle with this registration plate or name"]
        }
        session.rollback()
        with pytest.raises(Forbidden):
            claims.synchronise(session, actor, hub_engine, None, TODAY)  # type: ignore[arg-type]
        session.rollback()
        assert scope.reach(session, actor) == scope.Reach(frozenset({two["a"]}))
        assert scope.reach(session, crew(hub_user("finance"))).fleet
