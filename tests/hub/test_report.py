"""Head office's figures: fleet sync health, dashboard stats, reports (JSON and CSV) and
the visit export, over visits, diagnoses, claims and stock synced from two vehicles."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session
from schema.base import utcnow
from schema.models import AuditRecord
from tests.hub import fleet_rows
from tests.support import rows
from tests.support.identity import Staff
from tests.support.tables import row_counts

TODAY = utcnow().date()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def fleet(hub_engine: Engine) -> dict[str, str]:
    """Two vehicles: East synced an hour ago, West two days ago (amber); North never."""
    now = utcnow()
    with new_session(hub_engine) as session, session.begin():
        east = rows.vehicle(session, name="East")
        west = rows.vehicle(session, name="West")
        north = rows.vehicle(session, name="North")
        fleet_rows.synced_device(session, east.id, now - dt.timedelta(hours=1))
        fleet_rows.synced_device(session, west.id, now - dt.timedelta(hours=48))
        first = fleet_rows.visit(session, east.id, YESTERDAY, "closure")
        second = fleet_rows.visit(session, east.id, TODAY, "doctor_consultation")
        third = fleet_rows.visit(session, west.id, TODAY, "doctor_consultation")
        again = fleet_rows.visit(
            session, west.id, TODAY, "registration", patient_id=third.patient_id
        )
        fleet_rows.visit(session, east.id, TODAY - dt.timedelta(days=60))  # outside the period
        for visit, code in ((first, "J06.9"), (second, "J06.9"), (third, "I10"), (again, "J06.9")):
            fleet_rows.diagnosis(session, visit, code)
        fleet_rows.claim(session, first, "paid", "520.00", "500.00")
        fleet_rows.claim(session, second, "submitted", "610.50")
        fleet_rows.claim(session, third, "rejected", "100.00")
        item = fleet_rows.item(session, "Amoxicillin", reorder_level=30)
        expiry = TODAY + dt.timedelta(days=30)
        fleet_rows.stock(session, east.id, item, 100, expiry)
        fleet_rows.stock(session, east.id, item, -20, expiry, "dispense")
        fleet_rows.stock(session, west.id, item, 25, TODAY + dt.timedelta(days=300))
        fleet_rows.stock(session, west.id, item, -5, TODAY, "wastage")
        fleet_rows.alert(session, east.id)
        fleet_rows.alert(session, west.id, priority="critical")
        fleet_rows.alert(session, west.id, status="resolved")
    return {"east": east.id, "west": west.id, "north": north.id, "item": item.id}


def get(client: Any, path: str, staff: Staff) -> Any:
    response = client.get(path, headers=staff.headers)
    assert response.status_code == 200, (path, response.get_json())
    return response


def test_the_fleet_shows_each_vehicles_sync_health(
    hub_client: Any, hub_user: Callable[..., Staff], fleet: dict[str, str]
) -> None:
    vehicles = get(hub_client, "/api/fleet", hub_user("technician")).get_json()["data"]
    health = {v["name"]: (v["health"], v["devices"], v["open_alerts"]) for v in vehicles}
    assert health == {"East": ("green", 1, 1), "North": ("red", 0, 0), "West": ("amber", 1, 1)}
    east = next(v for v in vehicles if v["name"] == "East")
    assert 3500 < east["lag_seconds"] < 3700
    viewer = hub_user("viewer", vehicle_ids=[fleet["east"]])  # a viewer sees their vehicles
    assert [v["name"] for v in get(hub_client, "/api/fleet", viewer).get_json()["data"]] == ["East"]


def test_stock_across_the_fleet_side_by_side(
    hub_client: Any, hub_user: Callable[..., Staff], fleet: dict[str, str]
) -> None:
    manager = hub_user("stock_controller")
    items = get(hub_client, "/api/stock/fleet", manager).get_json()["data"]
    levels = {level["vehicle_name"]: level for level in items[0]["levels"]}
    assert (levels["East"]["quantity"], levels["East"]["low"]) == (80, False)
    assert levels["East"]["expiring"] is True  # within 90 days
    assert (levels["West"]["quantity"], levels["West"]["low"]) == (20, True)
    assert (levels["North"]["quantity"], levels["North"]["next_expiry"]) == (0, None)
    low = get(hub_client, "/api/stock/fleet?low_only=true", manager).get_json()
    assert low["pagination"]["total"] == 1
    assert (
        hub_client.get("/api/stock/fleet", headers=hub_user("finance").headers).status_code == 403
    )
    crew = hub_user("inventory_manager", vehicle_ids=[fleet["west"]])
    west = get(hub_client, "/api/stock/fleet", crew).get_json()["data"]
    assert [(lv["vehicle_name"], lv["quantity"]) for lv in west[0]["levels"]] == [("West", 20)]


def test_visits_per_day_vehicle_and_stage(
    hub_client: Any, hub_user: Callable[..., Staff], fleet: dict[str, str]
) -> None:
    finance = hub_user("finance")
    rows_ = get(hub_client, "/api/reports/visits", finance).get_json()["data"]
    assert [(r["date"], r["vehicle_name"], r["stage"], r["visits"]) for r in rows_] == [
        (YESTERDAY.isoformat(), "East", "closure", 1),
        (TODAY.isoformat(), "East", "doctor_consultation", 1),
        (TODAY.isoformat(), "West", "doctor_consultation", 1),
        (TODAY.isoformat(), "West", "registration", 1),
    ]
    west = get(hub_client, f"/api/reports/visits?vehicle_id={fleet['west']}", finance)
    assert len(west.get_json()["data"]) == 2
    wide = f"/api/reports/visits?date_from={TODAY - dt.timedelta(days=90)}"
    assert len(get(hub_client, wide, finance).get_json()["data"]) == 5
    exported = get(hub_client, "/api/reports/visits?format=csv", finance)
    assert exported.mimetype == "text/csv"
    lines = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert lines[0] == {
        "date": YESTERDAY.isoformat(),
        "vehicle_id": fleet["east"],
        "vehicle_name": "East",
        "stage": "closure",
        "visits": "1",
    }


def test_top_diagnoses_stock_usage_and_claims_by_status(
    hub_client: Any, hub_user: Callable[..., Staff], fleet: dict[str, str]
) -> None:
    finance = hub_user("finance")
    top = get(hub_client, "/api/reports/diagnoses", finance).get_json()["data"]
    assert top == [
        {"icd10_code": "J06.9", "diagnoses": 3, "patients": 3},
        {"icd10_code": "I10", "diagnoses": 1, "patients": 1},
    ]
    usage = get(hub_client, "/api/reports/stock-usage", finance).get_json()["data"]
    assert [(u["vehicle_name"], u["kind"], u["quantity"]) for u in usage] == [
        ("East", "dispense", 20),
        ("West", "wastage", 5),
    ]
    claims = get(hub_client, "/api/reports/claims", finance).get_json()["data"]
    by_status = {c["status"]: (c["claims"], c["claimed_amount"], c["paid_amount"]) for c in claims}
    assert by_status["paid"] == (1, "520.00", "500.00")
    assert by_status["submitted"] == (1, "610.50", "0.00")
    assert by_status["draft"] == (0, "0.00", "0.00")
    assert [c["status"] for c in claims][:6] == [
        "draft",
        "needs_attention",
        "submitted",
        "accepted",
        "rejected",
        "paid",
    ]
    east = get(hub_client, f"/api/reports/claims?vehicle_id={fleet['east']}", finance)
    assert sum(c["claims"] for c in east.get_json()["data"]) == 2


def test_dashboard_stats_show_claims_only_to_those_who_may_read_them(
    hub_client: Any, hub_user: Callable[..., Staff], fleet: dict[str, str]
) -> None:
    stats = get(hub_client, "/api/dashboard/stats", hub_user("administrator")).get_json()["data"]
    assert stats["vehicles"] == {"green": 1, "amber": 1, "red": 1, "total": 3}
    assert stats["visits"]["total"] == 4 and stats["visits"]["today"] == 3
    assert stats["visits"]["by_stage"]["doctor_consultation"] == 2
    assert stats["patients_seen"] == 3  # one West patient came twice
    assert stats["alerts"] == {"open": 2, "by_priority": {"critical": 1, "high": 1}}
    paid = next(s for s in stats["claims"]["by_status"] if s["status"] == "paid")
    assert paid["paid_amount"] == "500.00"
    both = hub_user("nurse", vehicle_ids=[fleet["east"], fleet["west"]])
    nurse = get(hub_client, "/api/dashboard/stats", both).get_json()["data"]
    assert nurse["claims"] is None and nurse["patients_seen"] == 3
    east = hub_user("nurse", vehicle_ids=[fleet["east"]])
    nurse = get(hub_client, "/api/dashboard/stats", east).get_json()["data"]
    assert nurse["vehicles"] == {"green": 1, "amber": 0, "red": 0, "total": 1}
    assert (nurse["visits"]["total"], nurse["patients_seen"]) == (2, 2)
    assert nurse["alerts"] == {"open": 1, "by_priority": {"high": 1}}


def test_the_visit_export_pages_and_is_audited(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, fleet: dict[str, str]
) -> None:
    admin = hub_user("administrator")
    first = get(hub_client, "/api/sync/visits?per_page=3", admin).get_json()
    assert first["pagination"] == {"page": 1, "per_page": 3, "total": 4, "pages": 2}
    assert set(first["data"][0]) == {
        "id",
        "vehicle_id",
        "patient_id",
        "visit_date",
        "stage",
        "status",
        "location_id",
        "opened_at",
        "closed_at",
    }
    as_csv = get(hub_client, "/api/sync/visits?format=csv", admin).get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(as_csv)))) == 4
    with hub_engine.connect() as connection:
        exports = connection.execute(
            select(AuditRecord).where(AuditRecord.action == "export")
        ).all()
    assert len(exports) == 2 and exports[0].resource_type == "visit"
    finance = hub_user("finance")  # no access to patients' visits
    assert hub_client.get("/api/sync/visits", headers=finance.headers).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/reports/visits?date_from=2026-02-01&date_to=2026-01-01",
        "/api/reports/visits?date_from=2020-01-01&date_to=2026-01-01",
        "/api/reports/claims?format=xlsx",
        "/api/reports/diagnoses?date_from=yesterday",
        "/api/dashboard/stats?vehicle_id=" + "x" * 40,
        "/api/sync/visits?per_page=0",
        "/api/reports/stock-usage?date_from=2000-01-01",
    ],
)
def test_bad_report_queries_are_400_and_change_nothing(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, path: str
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    response = hub_client.get(path, headers=admin.headers)
    assert response.status_code == 400 and response.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_reports_are_for_roles_that_read_reports(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    for role in ("nurse", "clerk", "inventory_manager"):
        staff = hub_user(role)
        assert hub_client.get("/api/reports/claims", headers=staff.headers).status_code == 403
