"""Head office's sync pages in Chromium: revoke a device, merge a duplicate pair,
accept a merged conflict; register a vehicle and issue its enrollment token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine

from bench.meter import serving
from common.database import new_session
from schema.base import new_id, utcnow
from schema.models import PatientDuplicate, SyncConflict
from tests.support import rows
from tests.support.identity import Staff, browser_login, make_vehicle
from tests.support.sync import count, enroll


def test_revoke_a_device_and_merge_a_duplicate_pair(
    page: Any, hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    vehicle = make_vehicle(hub_engine, name="Clinic North")
    enroll(hub_engine, "d0000000000b1", vehicle)
    with new_session(hub_engine) as session, session.begin():
        a = rows.patient(session, id_number="8503145800083", first_name="Thandi")
        b = rows.patient(session, id_number="8503145800083", first_name="Thandie")
        session.add(
            PatientDuplicate(
                id=new_id(),
                patient_a_id=a.id,
                patient_b_id=b.id,
                reason="id_number",
                status="open",
                detected_at=utcnow(),
            )
        )
        session.add(
            SyncConflict(
                id=new_id(),
                table_name="patient",
                row_id=a.id,
                column_name="allergies",
                local_value='["sulfa"]',
                remote_value='["penicillin"]',
                merged_value='["sulfa", "penicillin"]',
                local_version="0" * 16 + "@hub",
                remote_version="1" * 16 + "@d0000000000b1",
                resolution="union",
                status="open",
                created_at=utcnow() - dt.timedelta(minutes=1),
            )
        )
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        page.goto(base + "/devices")
        assert page.locator("[data-testid=device-status]").inner_text() == "active"
        page.click("[data-testid=revoke]")
        # a locator wait: the page's CSP forbids the eval behind wait_for_function
        page.locator("[data-testid=device-status]", has_text="revoked").wait_for()
        page.goto(base + "/duplicates")
        pair = page.locator("[data-testid=duplicate-pair]")
        assert "Thandi" in pair.inner_text() and "Thandie" in pair.inner_text()
        page.click("[data-testid=keep-a]")
        page.wait_for_selector("[data-testid=no-duplicates]")
        page.goto(base + "/conflicts")
        page.click("[data-testid=accept-merge]")
        page.wait_for_selector("text=No open conflicts.")
    assert count(hub_engine, "SELECT count(*) FROM device WHERE status = 'revoked'") == 1
    assert (
        count(
            hub_engine,
            "SELECT count(*) FROM patient WHERE id = :b AND merged_into_id = :a",
            a=a.id,
            b=b.id,
        )
        == 1
    )
    assert (
        count(
            hub_engine,
            "SELECT count(*) FROM audit_record WHERE action = 'list' AND resource_type = 'patient'",
        )
        >= 1
    )  # the side-by-side compare showed patient data


def test_register_a_vehicle_and_issue_its_enrollment_token_from_the_vehicles_page(
    page: Any, hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    with new_session(hub_engine) as session, session.begin():
        province = rows.province(session, code="LP")
        province.name = "Limpopo"
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    with serving(hub_app) as base:
        browser_login(page, base, admin)
        page.goto(base + "/vehicles")
        form = page.locator("[data-testid=register-vehicle]")
        form.locator("[name=name]").fill("Clinic East")
        form.locator("[name=registration_plate]").fill("GP 123")
        form.locator("[name=practice_number]").fill("12")
        form.locator("[name=practice_number]").evaluate("e => e.removeAttribute('pattern')")
        form.locator("button[type=submit]").click()
        form.locator(".field-error", has_text="7 digits").wait_for()  # the API's answer
        form.locator("[name=practice_number]").fill("0123456")
        form.locator("[name=province_id]").select_option(label="Limpopo")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        row = page.locator("[data-testid=vehicles] tr", has_text="Clinic East")
        assert "Limpopo" in row.text_content() and "GP 123" in row.text_content()
        row.locator("button", has_text="Enrollment token").click()
        token = row.locator(".secret:not([hidden])")
        token.wait_for()
        assert len(token.text_content() or "") >= 20
    assert count(hub_engine, "SELECT count(*) FROM enrollment_token") == 1
    assert [e for e in errors if "status of 400" not in e] == []  # only the refused form
