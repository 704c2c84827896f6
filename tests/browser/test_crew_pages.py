"""The crew's main paths in real headless Chromium: book an appointment, receive stock,
count stock, receive a delivery, acknowledge an alert, see the dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import Engine, select

from bench.meter import serving
from common.database import new_session, write_intent
from edge.alert.service import raise_alert
from schema.models import Appointment, StockMovement
from tests.edge.test_supply import arrive_by_sync, request_items
from tests.support.identity import browser_login
from tests.support.operations import (
    day_plan,
    make_item,
    make_location,
    make_patient,
    plan_route,
)


def test_a_clerk_books_a_patient_from_the_day_view(
    page: Any,
    edge_app: Flask,
    edge_client: Any,
    edge_user: Any,
    edge_engine: Engine,
    edge_vehicle: str,
) -> None:
    clerk = edge_user("clerk")
    plan = day_plan(make_location(edge_engine, "Mabopane Hall"), capacity=1, slots=2)
    plan_route(edge_engine, edge_vehicle, plan)
    patient = make_patient(edge_engine, id_number="8001015009087", first_name="Lerato")
    with serving(edge_app) as base:
        browser_login(page, base, clerk)
        page.goto(f"{base}/crew/day?date={plan['route_date']}")
        assert page.inner_text("[data-testid=route-name]") == "Tuesday"
        assert "Mabopane Hall" in page.inner_text("[data-testid=stop]")
        form = page.locator("[data-testid=book-form]").first
        form.locator("input[name=patient_id_number]").fill("8001015009087")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=booking]")
        assert "Lerato Mokoena" in page.inner_text("[data-testid=booking]")
        assert page.locator("[data-testid=book-form]").count() == 1  # the full slot offers none
        page.locator("[data-testid=book-form] input[name=patient_id_number]").fill("9999999999999")
        page.locator("[data-testid=book-form] button[type=submit]").click()
        page.wait_for_selector("[data-role=form-error]:has-text('No active patient')")
    with edge_engine.connect() as connection:
        assert connection.scalars(select(Appointment.patient_id)).all() == [patient]


def test_stock_is_received_counted_and_shown(
    page: Any, edge_app: Flask, edge_user: Any, edge_engine: Engine
) -> None:
    manager = edge_user("inventory_manager")
    make_item(edge_engine, "Amoxicillin 250mg", reorder_level=50, nappi_code="7005550")
    expiry = dt.date.today() + dt.timedelta(days=45)
    with serving(edge_app) as base:
        browser_login(page, base, manager)
        page.click("nav >> text=Stock")
        form = page.locator("[data-testid=receive-form]")
        form.locator("[name=batch_number]").fill("AMX-7")
        form.locator("[name=expiry_date]").fill(expiry.isoformat())
        form.locator("[name=quantity]").fill("40")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=on-hand]:has-text('40')")
        assert "Amoxicillin 250mg" in page.inner_text("[data-testid=low-stock]")
        assert "AMX-7" in page.inner_text("[data-testid=expiring]")

        count = page.locator("[data-testid=stocktake-form]")
        count.locator("[name=counted]").fill("38")
        count.locator("[name=reason]").fill("two broken")
        count.locator("button[type=submit]").click()
        page.wait_for_selector("[data-testid=on-hand]:has-text('38')")
    with edge_engine.connect() as connection:
        ledger = connection.execute(
            select(StockMovement.kind, StockMovement.quantity, StockMovement.reason).order_by(
                StockMovement.occurred_at
            )
        ).all()
    assert ledger == [("receipt", 40, None), ("adjustment", -2, "two broken")]


def test_a_delivery_from_head_office_is_received(
    page: Any,
    edge_app: Flask,
    edge_client: Any,
    edge_user: Any,
    edge_engine: Engine,
    edge_vehicle: str,
) -> None:
    manager = edge_user("inventory_manager")
    item = make_item(edge_engine, "Gauze")
    request = request_items(edge_client, manager, item).get_json()["data"]
    arrive_by_sync(edge_engine, edge_vehicle, request["id"], item)
    with serving(edge_app) as base:
        browser_login(page, base, manager)
        page.goto(base + "/crew/supply")
        page.click("[data-testid=delivery] >> text=Receive into stock")
        page.wait_for_selector("[data-testid=delivery]:has-text('received')")
        assert "fulfilled" in page.inner_text("[data-testid=supply-request]")
        page.goto(base + "/crew/stock")
        assert page.inner_text("[data-testid=on-hand]") == "200"


def test_a_nurse_acknowledges_an_alert_and_sees_the_dashboard(
    page: Any, edge_app: Flask, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    nurse = edge_user("nurse")
    with write_intent(), new_session(edge_engine) as session, session.begin():
        raise_alert(
            session,
            vehicle_id=edge_vehicle,
            kind="critical_vital",
            priority="critical",
            title="Oxygen saturation 84%",
        )
    with serving(edge_app) as base:
        browser_login(page, base, nurse)
        assert "1 critical" in page.inner_text("[data-testid=dashboard]")
        page.click("nav >> text=Alerts")
        alert = page.locator("[data-testid=alert]")
        assert "Oxygen saturation 84%" in alert.inner_text()
        alert.locator("text=Acknowledge").click()
        page.wait_for_selector("[data-testid=alert-status]:has-text('acknowledged')")
        alert.locator("text=Resolve").click()
        page.wait_for_selector("[data-testid=no-alerts]")
        page.set_viewport_size({"width": 800, "height": 1280})
        for path in ("/", "/crew/day", "/crew/stock", "/crew/alerts"):
            page.goto(base + path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 800, path
