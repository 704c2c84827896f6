"""Head office's pages in real headless Chromium, over a real MySQL hub database (and,
for a visit that really arrives by sync, a `clinic-hub serve` process with an enrolled
SQLCipher edge)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, select

from bench.meter import serving
from common.database import new_session
from edge.sync import service as edge_sync
from hub.report import service as reports
from schema.base import utcnow
from schema.models import Alert, Delivery, SupplyRequest
from tests.hub import fleet_rows
from tests.support import rows
from tests.support.hubprocess import HubProcess, edge_for
from tests.support.identity import Staff, browser_login
from tests.sync.test_protocol import visit as edge_visit


def test_admin_sees_the_fleet_and_a_synced_visit_and_approves_a_supply_request(
    page: Any, hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    with new_session(hub_engine) as session, session.begin():
        east = rows.vehicle(session, name="Clinic East")
        west = rows.vehicle(session, name="Clinic West")
        fleet_rows.synced_device(session, east.id, utcnow() - dt.timedelta(hours=2))
        visit = fleet_rows.visit(session, east.id, utcnow().date(), "nursing_assessment")
        fleet_rows.diagnosis(session, visit, "J06.9")
        fleet_rows.claim(session, visit, "submitted", "610.50")
        request = fleet_rows.supply_request(session, west.id, fleet_rows.item(session), 120)
        alert = fleet_rows.alert(session, east.id, title="Oxygen low")
    admin = hub_user("administrator")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        fleet = page.locator("[data-testid=fleet] tbody tr")
        assert fleet.count() == 2
        east_row = page.locator(f"tr[data-vehicle-id='{east.id}']")
        assert east_row.locator("[data-testid=health]").text_content() == "green"
        west_row = page.locator(f"tr[data-vehicle-id='{west.id}']")
        assert west_row.locator("[data-testid=health]").text_content() == "red"
        assert page.text_content("[data-testid=visits-today]") == "1"
        assert page.text_content("[data-testid=patients-seen]") == "1"
        bars = page.locator("[data-testid=chart-per-day] rect")
        assert bars.count() == 1
        assert "Clinic East: 1" in bars.first.locator("title").text_content()
        assert page.locator("[data-testid=chart-per-stage] rect").count() == 1
        assert "J06.9" in page.text_content("[data-testid=diagnoses]")
        submitted = page.locator("[data-testid=claims] tr[data-status=submitted]")
        assert "610.50" in submitted.text_content()

        alert_row = page.locator(f"tr[data-alert-id='{alert.id}']")
        assert "Oxygen low" in alert_row.text_content()
        with page.expect_navigation():
            alert_row.locator("button", has_text="Acknowledge").click()
        assert alert_row.locator(".badge", has_text="acknowledged").count() == 1

        page.click("nav.mainnav >> text=Supply")
        row = page.locator(f"tr[data-request-id='{request.id}']")
        assert "Clinic West" in row.text_content() and "× 120" in row.text_content()
        row.locator("[data-testid=approve]").click()
        form = page.locator("[data-testid=fulfil]")
        form.wait_for()
        with new_session(hub_engine) as session:
            approved = session.get(SupplyRequest, request.id)
        assert approved is not None and approved.status == "approved"
        assert approved.decided_by == admin.id

        later = (utcnow().date() + dt.timedelta(days=365)).isoformat()
        form.locator("[name=batch_number]").fill("PCM-9")
        form.locator("[name=expiry_date]").fill(later)
        form.locator("[name=tracking_number]").fill("CG-77")
        form.locator("button[type=submit]").click()
        row.wait_for(state="detached")  # fulfilled: no longer open
        page.goto(base + "/supply?status=fulfilled")
        assert "Delivery pending" in page.text_content("[data-testid=supply-requests]")
        page.click("button:has-text('Mark shipped')")
        page.wait_for_selector("text=Delivery shipped")
    with new_session(hub_engine) as session:
        shipped = session.scalar(select(Delivery))
    assert shipped is not None and shipped.status == "shipped"
    assert shipped.tracking_number == "CG-77"
    with new_session(hub_engine) as session:
        assert session.get_one(Alert, alert.id).acknowledged_by == admin.id
    assert errors == []  # no CSP violation or script error


def test_admin_sees_a_visit_that_arrived_by_sync(
    page: Any,
    hub_process: HubProcess,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    """No rows made at the hub: the vehicle's visit is recorded on its edge and synced to
    the hub process whose dashboard the browser reads."""
    args = (hub_process, hub_engine, edge_template, edge_key, tmp_path)
    engine, config, vehicle = edge_for("v", *args)
    quiet = edge_for("q", *args)
    quiet[0].dispose()
    try:
        with new_session(engine) as session, session.begin():
            edge_visit(session, rows.patient(session), vehicle)
        edge_sync.run(engine, config)
    finally:
        engine.dispose()
    browser_login(page, hub_process.base, hub_user("administrator"))
    row = page.locator(f"tr[data-vehicle-id='{vehicle}']")
    row.wait_for()
    assert row.locator("[data-testid=health]").text_content() == "green"
    assert page.text_content("[data-testid=visits-today]") == "1"
    assert page.text_content("[data-testid=patients-seen]") == "1"
    bars = page.locator("[data-testid=chart-per-day] rect")
    assert bars.count() == 1  # the quiet vehicle has no bar
    assert "Clinic v: 1" in bars.first.locator("title").text_content()
    stage = page.locator("[data-testid=chart-per-stage] rect")
    assert "registration" in stage.first.locator("title").text_content().lower()


def test_head_office_pages_render_for_their_roles(
    page: Any, hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    with new_session(hub_engine) as session, session.begin():
        vehicle = rows.vehicle(session, name="Clinic North")
        item = fleet_rows.item(session, "Amoxicillin", reorder_level=30)
        fleet_rows.stock(session, vehicle.id, item, 12, utcnow().date() + dt.timedelta(days=20))
    admin = hub_user("administrator")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        page.goto(base + "/stock")
        cell = page.locator("[data-testid=fleet-stock] td.low")
        assert cell.count() == 1 and "12" in cell.text_content()
        page.goto(base + "/reports")
        claim_rows = page.locator("[data-testid=report-claims] tbody tr")
        assert claim_rows.count() == len(reports.CLAIM_STATUSES)  # each status, even at 0
        page.goto(base + "/claims?status=reversed")
        assert page.locator("[data-testid=claims] tbody tr").text_content() == "No claims."
        page.goto(base + "/audit?action=login")
        assert "login" in page.text_content("[data-testid=audit-results]")
        nurse = hub_user("nurse")
        laptop_made = hub_user("administrator", made_on="d000000000aa")  # arrived by sync
        page.goto(base + "/people")
        assert admin.username in page.text_content("[data-testid=people]")
        marked = page.locator(f"tr[data-user-id='{laptop_made.id}'] [data-testid=emergency]")
        assert "emergency account of laptop d000000000aa" in marked.text_content()
        row = page.locator(f"tr[data-user-id='{laptop_made.id}']")
        assert f"user={laptop_made.id}" in row.locator("a").get_attribute("href")
        assert page.locator(f"form[data-edit-user='{laptop_made.id}']").count() == 0
        edit = page.locator(f"form[data-edit-user='{nurse.id}']")
        page.locator(f"tr[data-user-id='{nurse.id}'] summary").click()
        edit.locator("[name=role]").select_option("doctor")
        edit.locator("[name=vehicle_ids]").select_option(vehicle.id)
        with page.expect_navigation():  # saved, then reloaded
            edit.locator("button[type=submit]").click()
        cells = page.locator(f"tr[data-user-id='{nurse.id}'] > td")
        assert cells.nth(2).text_content() == "doctor"
        assert cells.nth(3).text_content() == "Clinic North"
        page.fill("#invite-form-admin [name=username]", "sister.dlamini")
        page.fill("#invite-form-admin [name=full_name]", "Sister Dlamini")
        page.select_option("#invite-form-admin [name=role]", "nurse")
        page.click("#invite-form-admin button[type=submit]")
        page.wait_for_selector("#invite-link:not([hidden])")
        link = page.text_content("#invite-link")
        assert link is not None and "/invite#" in link
        # The invited nurse opens the link and chooses a password.
        page.click("[data-testid=who] button")
        page.goto(link)
        page.fill("#password", "Sister-Dlamini-7")
        page.click("#invite-form button[type=submit]")
        page.wait_for_selector("#invite-done:not([hidden])")
    assert errors == []


def test_finance_sees_reports_but_not_stock_or_people(
    page: Any, hub_app: Flask, hub_user: Callable[..., Staff]
) -> None:
    finance = hub_user("finance")
    with serving(hub_app) as base:
        browser_login(page, base, finance)
        nav = page.text_content("nav.mainnav")
        assert "Reports" in nav and "Stock" not in nav and "People" not in nav
        assert page.locator("[data-testid=claims]").count() == 1
        assert page.locator("[data-testid=alerts]").count() == 0  # alerts may name patients
        response = page.goto(base + "/people")
        assert response is not None and response.status == 403


FORMULARY_CSV = b"""nappi_code,name,kind,strength,unit,pack_size,tariff_price,reorder_level,active
7010017,Paracetamol,medicine,500 mg,tablet,20,7.00,100,true
"""


def test_the_formulary_imports_a_csv_from_the_page_and_names_bad_lines(
    page: Any, hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    upload = "[data-testid=formulary-import] input[type=file]"
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        page.click("nav.mainnav >> text=Formulary")
        bad = FORMULARY_CSV + b"70X,Broken,medicine,,tablet,1,,0,true\n"
        page.set_input_files(
            upload, files=[{"name": "f.csv", "mimeType": "text/csv", "buffer": bad}]
        )
        errors = page.locator("[data-testid=formulary-import] [data-role=import-errors] li")
        errors.first.wait_for()
        assert errors.first.text_content().startswith("Line 3, nappi_code:")
        assert "nothing was imported" in page.text_content("[data-role=import-result]")
        good = [{"name": "f.csv", "mimeType": "text/csv", "buffer": FORMULARY_CSV}]
        page.set_input_files(upload, files=good)
        page.wait_for_selector("text=Imported 1 new and 0 changed items")
        page.reload()
        assert "Paracetamol" in page.text_content("[data-testid=formulary]")
        page.click("nav.mainnav >> text=Routes")
        assert "No routes planned." in page.text_content("[data-testid=routes]")
