"""Head office's reference data: formulary, tariffs, provinces, locations, and the
formulary's CSV import (all rows or none, errors by line) and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from schema.models import Item, SyncChange
from tests.support.identity import Staff
from tests.support.tables import row_counts

PARACETAMOL = {
    "nappi_code": "7010017",
    "name": "Paracetamol",
    "kind": "medicine",
    "strength": "500 mg",
    "unit": "tablet",
    "pack_size": 20,
    "tariff_price": "7.00",
    "reorder_level": 100,
}
CSV_TYPE = {"Content-Type": "text/csv"}


def post_csv(client: Any, path: str, text: str, staff: Staff) -> Any:
    return client.post(path, data=text.encode(), headers={**staff.headers, **CSV_TYPE})


def test_formulary_items_are_made_changed_listed_and_synced(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    made = hub_client.post("/api/formulary", json=PARACETAMOL, headers=admin.headers)
    assert made.status_code == 201
    item = made.get_json()["data"]
    assert item["tariff_price"] == "7.00" and item["pack_size"] == 20
    clash = hub_client.post("/api/formulary", json=PARACETAMOL, headers=admin.headers)
    assert clash.status_code == 409
    changed = hub_client.put(
        f"/api/formulary/{item['id']}", json={"tariff_price": "7.50"}, headers=admin.headers
    )
    assert changed.get_json()["data"]["tariff_price"] == "7.50"
    found = hub_client.get("/api/formulary?q=7010", headers=admin.headers).get_json()
    assert [i["name"] for i in found["data"]] == ["Paracetamol"]
    nurse = hub_user("nurse")
    assert hub_client.get("/api/formulary", headers=nurse.headers).status_code == 200
    with hub_engine.connect() as connection:
        captured = connection.scalars(select(SyncChange.table_name)).all()
    assert captured.count("item") == 2  # the insert and the update reach every vehicle


def test_tariffs_provinces_and_locations(hub_client: Any, hub_user: Callable[..., Staff]) -> None:
    admin = hub_user("administrator")
    tariff = {"code": "0190", "description": "GP consultation", "kind": "consultation"}
    made = hub_client.post("/api/tariffs", json={**tariff, "amount": "520"}, headers=admin.headers)
    assert made.status_code == 201 and made.get_json()["data"]["amount"] == "520.00"
    listed = hub_client.get("/api/tariffs?q=01", headers=admin.headers).get_json()["data"]
    assert [t["code"] for t in listed] == ["0190"]
    province = hub_client.post(
        "/api/provinces", json={"code": "GP", "name": "Gauteng"}, headers=admin.headers
    ).get_json()["data"]
    location = {"province_id": province["id"], "name": "Soweto clinic", "latitude": "-26.2485"}
    made = hub_client.post("/api/locations", json=location, headers=admin.headers)
    assert made.status_code == 201 and made.get_json()["data"]["latitude"] == "-26.248500"
    planner, clerk = hub_user("fleet_planner"), hub_user("clerk")  # the planner adds stops
    other = {"province_id": province["id"], "name": "Alexandra"}
    assert hub_client.post("/api/locations", json=other, headers=clerk.headers).status_code == 403
    assert hub_client.post("/api/locations", json=other, headers=planner.headers).status_code == 201
    names = hub_client.get("/api/locations", headers=clerk.headers).get_json()["data"]
    assert [n["name"] for n in names] == ["Alexandra", "Soweto clinic"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/formulary", {**PARACETAMOL, "nappi_code": "70100A7"}),
        ("POST", "/api/formulary", {**PARACETAMOL, "kind": "snack"}),
        ("POST", "/api/formulary", {**PARACETAMOL, "pack_size": 0}),
        ("POST", "/api/formulary", {**PARACETAMOL, "tariff_price": "-1"}),
        ("PUT", "/api/formulary/nope", {"name": "x"}),
        ("POST", "/api/tariffs", {"code": "0190", "description": "x", "kind": "x", "amount": 1}),
        ("POST", "/api/provinces", {"code": "gauteng", "name": "Gauteng"}),
        ("POST", "/api/locations", {"province_id": "no-such", "name": "X"}),
        ("POST", "/api/locations", {"province_id": "x", "name": "X", "latitude": "91"}),
    ],
)
def test_bad_reference_data_is_refused_and_nothing_written(
    hub_client: Any,
    hub_user: Callable[..., Staff],
    hub_engine: Engine,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    response = hub_client.open(path, method=method, json=body, headers=admin.headers)
    assert 400 <= response.status_code < 500 and response.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_only_formulary_writers_change_the_formulary(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    before = row_counts(hub_engine)
    roles = ("doctor", "nurse", "finance", "viewer", "inventory_manager", "claims_clerk")
    for role in (*roles, "fleet_planner", "technician"):
        staff = hub_user(role)
        response = hub_client.post("/api/formulary", json=PARACETAMOL, headers=staff.headers)
        assert response.status_code == 403, role
    with hub_engine.connect() as connection:
        assert connection.scalar(select(Item.id)) is None
    assert row_counts(hub_engine)["item"] == before["item"]


GOOD_CSV = """nappi_code,name,kind,strength,unit,pack_size,tariff_price,reorder_level,active
7010017,Paracetamol,medicine,500 mg,tablet,20,7.00,100,true
7020018,Amoxicillin,medicine,250 mg,capsule,15,12.40,50,
,Gauze swab,consumable,,pack,100,,10,true
"""


def test_the_formulary_imports_and_exports_as_csv(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    first = post_csv(hub_client, "/api/formulary/import", GOOD_CSV, admin)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["data"] == {"created": 3, "updated": 0}
    again = post_csv(hub_client, "/api/formulary/import", GOOD_CSV.replace("12.40", "13.10"), admin)
    assert again.get_json()["data"] == {"created": 0, "updated": 3}
    exported = hub_client.get("/api/formulary/export.csv", headers=admin.headers)
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["name"] for r in rows] == ["Amoxicillin", "Gauze swab", "Paracetamol"]
    assert rows[0]["tariff_price"] == "13.10" and rows[1]["nappi_code"] == ""
    # What was exported imports again unchanged.
    text = exported.get_data(as_text=True)
    round_trip = post_csv(hub_client, "/api/formulary/import", text, admin)
    assert round_trip.get_json()["data"] == {"created": 0, "updated": 3}


def test_a_csv_with_any_bad_row_imports_nothing_and_names_each_line(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    bad = GOOD_CSV + "70X,Bad code,medicine,,tablet,1,,0,true\n"
    bad += "7010017,Again,medicine,,tablet,1,,0,\n,No unit,consumable,,,1,,0,true\n"
    before = row_counts(hub_engine)
    response = post_csv(hub_client, "/api/formulary/import", bad, admin)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "3 rows with errors; nothing was imported"
    lines = {row["line"]: row["errors"] for row in body["details"]["rows"]}
    assert set(lines) == {5, 6, 7}
    assert "nappi_code" in lines[5] and "line 2" in lines[6]["nappi_code"][0]
    assert "unit" in lines[7]
    assert row_counts(hub_engine) == before


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("name,kind\nX,medicine\n", "text/csv"),  # no unit column
        ("", "text/csv"),
        (GOOD_CSV, "application/json"),
        ("nappi_code,name,kind,unit\n", "text/csv"),  # header only
        ("name,kind,unit\nA,medicine,tab,extra\n", "text/csv"),
    ],
)
def test_malformed_csv_files_are_refused(
    hub_client: Any,
    hub_user: Callable[..., Staff],
    hub_engine: Engine,
    text: str,
    content_type: str,
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    headers = {**admin.headers, "Content-Type": content_type}
    response = hub_client.post("/api/formulary/import", data=text.encode(), headers=headers)
    assert response.status_code == 400 and response.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_bad_updates_change_nothing(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    tariff = {"code": "0190", "description": "GP consultation", "kind": "consultation"}
    made = hub_client.post("/api/tariffs", json={**tariff, "amount": "520"}, headers=admin.headers)
    other = hub_client.post(
        "/api/tariffs", json={**tariff, "code": "0191", "amount": "1"}, headers=admin.headers
    )
    province = hub_client.post(
        "/api/provinces", json={"code": "KZN", "name": "KwaZulu-Natal"}, headers=admin.headers
    ).get_json()["data"]
    location = hub_client.post(
        "/api/locations",
        json={"province_id": province["id"], "name": "Ixopo"},
        headers=admin.headers,
    ).get_json()["data"]
    tariff_path = f"/api/tariffs/{made.get_json()['data']['id']}"
    location_path = f"/api/locations/{location['id']}"
    before = row_counts(hub_engine)
    for path, body, status in [
        (tariff_path, {}, 400),
        (tariff_path, {"amount": "abc"}, 400),
        (tariff_path, {"code": other.get_json()["data"]["code"]}, 409),
        (location_path, {"province_id": "no-such-province"}, 400),
        (location_path, {"longitude": "181"}, 400),
        ("/api/locations/no-such-location", {"name": "X"}, 404),
    ]:
        response = hub_client.put(path, json=body, headers=admin.headers)
        assert response.status_code == status, (path, body, response.get_json())
    assert row_counts(hub_engine) == before


def test_each_head_office_role_writes_only_its_own_reference_data(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    """The stock controller keeps the formulary, the claims clerk the tariffs, the fleet
    planner the provinces and the stops; none writes another's."""
    controller, clerk, planner = (
        hub_user(role) for role in ("stock_controller", "claims_clerk", "fleet_planner")
    )
    tariff = {"code": "0190", "description": "GP consultation", "kind": "consultation"}
    province = {"code": "LP", "name": "Limpopo"}
    writes = {
        "stock_controller": ("/api/formulary", PARACETAMOL),
        "claims_clerk": ("/api/tariffs", {**tariff, "amount": "520"}),
        "fleet_planner": ("/api/provinces", province),
    }
    for staff in (controller, clerk, planner):
        for role, (path, body) in writes.items():
            response = hub_client.post(path, json=body, headers=staff.headers)
            expected = 201 if role == staff.role else 403
            assert response.status_code == expected, (staff.role, path, response.get_json())
    made = hub_client.get("/api/provinces", headers=planner.headers).get_json()["data"]
    stop = {"province_id": made[0]["id"], "name": "Polokwane"}
    assert hub_client.post("/api/locations", json=stop, headers=planner.headers).status_code == 201
    assert hub_client.post("/api/locations", json=stop, headers=clerk.headers).status_code == 403
