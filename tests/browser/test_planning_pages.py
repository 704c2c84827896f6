"""Head office's route and invitation actions in real headless Chromium over MySQL:
move and cancel a planned route, and withdraw a pending invitation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from bench.meter import serving
from common.database import new_session
from schema.models import Location, Route
from tests.hub.test_route_change import book
from tests.support import rows
from tests.support.identity import Staff, browser_login

DAY = "2026-12-07"


def plan(client: Any, admin: Staff, vehicle: str, location: str, name: str) -> dict[str, Any]:
    stop = {
        "location_id": location,
        "arrival_at": f"{DAY}T07:00:00Z",
        "departure_at": f"{DAY}T08:00:00Z",
    }
    body = {"vehicle_id": vehicle, "route_date": DAY, "name": name, "stops": [stop]}
    made = client.post("/api/routes", json=body, headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    return made.get_json()["data"]


def test_head_office_moves_and_cancels_routes_from_the_routes_page(
    page: Any, hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session, name="Clinic North")
        place = Location(province_id=rows.province(session).id, name="Tzaneen")
        session.add(place)
    admin = hub_user("administrator")
    client = hub_app.test_client()
    free = plan(client, admin, vehicle.id, place.id, "Free loop")
    busy = plan(client, admin, vehicle.id, place.id, "Busy loop")
    book(hub_engine, busy)
    answers = iter(["2026-12-10", "Vehicle in for repairs"])
    page.on("dialog", lambda dialog: dialog.accept(next(answers)))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        page.goto(base + "/routes")
        free_row = page.locator(f"tr[data-route-id='{free['id']}']")
        busy_row = page.locator(f"tr[data-route-id='{busy['id']}']")
        assert busy_row.locator("button", has_text="Move").count() == 0  # patients booked
        assert "1 booked" in busy_row.text_content()
        with page.expect_navigation():
            free_row.locator("button", has_text="Move").click()
        assert free_row.locator("td").first.text_content() == "2026-12-10"
        with page.expect_navigation():
            busy_row.locator("button", has_text="Cancel with appointments").click()
        assert busy_row.locator(".badge", has_text="cancelled").count() == 1
        assert busy_row.locator("button").count() == 0
    with new_session(hub_engine) as session:
        statuses = {r.name: (r.status, str(r.route_date)) for r in session.query(Route)}
    assert statuses == {"Free loop": ("planned", "2026-12-10"), "Busy loop": ("cancelled", DAY)}
    assert errors == []


def test_head_office_withdraws_a_pending_invitation_from_the_people_page(
    page: Any, hub_app: Flask, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    body = {"username": "dr.naidoo", "full_name": "Dr Naidoo", "role": "doctor"}
    made = hub_app.test_client().post("/api/invites", json=body, headers=admin.headers)
    issued = made.get_json()["data"]
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        page.goto(base + "/people")
        row = page.locator(f"tr[data-invite-id='{issued['invite']['id']}']")
        assert "dr.naidoo" in row.text_content()
        with page.expect_navigation():
            row.locator("button", has_text="Withdraw").click()
        assert page.locator("[data-testid=invites]").count() == 0
        page.click("[data-testid=who] button")
        page.goto(base + "/invite#" + issued["token"])
        page.fill("#password", "Brand-New-Horse-4")
        page.click("#invite-form button[type=submit]")
        refusal = page.locator("#invite-form [data-role=form-error]")
        refusal.filter(has_text="withdrawn").wait_for()
