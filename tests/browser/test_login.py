"""The login page in real headless Chromium: messages, who-am-I, logout, idle logoff."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bench.meter import serving
from common.auth import sessions
from schema.base import utcnow
from tests.support.identity import NodeApp, browser_login


def test_log_in_see_who_you_are_and_log_out(page: Any, node_app: NodeApp) -> None:
    doctor = node_app.user("doctor")
    with serving(node_app.app) as base:
        page.goto(base + "/login")
        page.fill("#username", doctor.username)
        page.fill("#password", "Wrong-password-1")
        page.click("button[type=submit]")
        assert page.text_content("[data-testid=login-error]") == "Wrong username or password"
        assert page.input_value("#username") == doctor.username

        browser_login(page, base, doctor)
        who = page.text_content("[data-testid=who]")
        assert doctor.full_name in who and "doctor" in who
        cookie = next(c for c in page.context.cookies() if c["name"] == "clinic_auth")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # out of reach of scripts

        page.click("[data-testid=who] button")
        page.wait_for_selector("[data-testid=login-notice]")
        assert page.text_content("[data-testid=login-notice]") == "You have logged out."
        page.goto(base + "/")
        assert page.url.startswith(base + "/login")


def test_an_idle_tablet_is_sent_back_to_login_with_a_reason(
    page: Any, node_app: NodeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    nurse = node_app.user("nurse")
    with serving(node_app.app) as base:
        browser_login(page, base, nurse)
        later = utcnow() + dt.timedelta(minutes=31)
        monkeypatch.setattr(sessions, "utcnow", lambda: later)
        page.goto(base + "/")
        notice = page.text_content("[data-testid=login-notice]")
        assert notice == "You were logged off after 30 minutes without activity. Log in again."
        assert page.url == base + "/login?next=/"


def test_the_shell_script_sends_the_csrf_token(page: Any, node_app: NodeApp) -> None:
    admin = node_app.user("administrator")
    with serving(node_app.app) as base:
        browser_login(page, base, admin)
        result = page.evaluate(
            """Clinic.api("POST", "/api/users", {username: "from-browser",
               full_name: "From Browser", role: "clerk", password: "Correct-Horse-9"})"""
        )
        assert result["status"] == 201
        plain = page.evaluate(
            """fetch("/api/users", {method: "POST", headers: {"Content-Type": "application/json"},
               body: "{}"}).then(r => r.status)"""
        )
        assert plain == 403  # the same cookie without the token is refused
