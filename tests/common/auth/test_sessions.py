"""Browser sessions: the cookie, CSRF on cookie writes, idle logoff, expiry, logout."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.auth import sessions
from common.database import new_session
from common.node import HUB_NODE_ID
from schema.models import AuditRecord, User, WebSession
from tests.support.clock import movable_clock
from tests.support.identity import NodeApp, Staff, page_login, unassign
from tests.support.tables import AUDIT_TABLES, row_counts


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.timedelta], None]:
    """Move the sessions' clock forward."""
    return movable_clock(monkeypatch, sessions)


def cookie_header(response: Any) -> str:
    [header] = [v for k, v in response.headers.items() if k == "Set-Cookie"]
    return header


def test_the_login_page_sets_a_locked_down_cookie(node_app: NodeApp) -> None:
    pharmacist = node_app.user("inventory_manager")
    response = node_app.client.post(
        "/login", data={"username": pharmacist.username, "password": pharmacist.password}
    )
    assert response.status_code == 302 and response.location == "/"
    header = cookie_header(response)
    assert header.startswith("clinic_auth=")
    for flag in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert flag in header
    raw_id = header.split(";")[0].split("=", 1)[1]
    with node_app.engine.connect() as connection:
        stored = connection.scalars(select(WebSession.id)).all()
    assert stored == [hashlib.sha256(raw_id.encode()).hexdigest()]  # never the id itself


def test_over_https_the_cookie_has_the_host_prefix(node_app: NodeApp) -> None:
    nurse = node_app.user("nurse")
    client = node_app.app.test_client()
    form = {"username": nurse.username, "password": nurse.password}
    response = client.post("/login", data=form, base_url="https://clinic.local")
    header = cookie_header(response)
    assert header.startswith("__Host-clinic_auth=") and "Secure" in header
    assert "Domain" not in header
    home = client.get("/", base_url="https://clinic.local")
    assert home.status_code == 200 and nurse.full_name in home.get_data(as_text=True)


def test_cookie_secure_can_be_turned_off_for_a_plain_http_demo(node_app: NodeApp) -> None:
    node_app.app.config["COOKIE_SECURE"] = False
    nurse = node_app.user("nurse")
    form = {"username": nurse.username, "password": nurse.password}
    assert "Secure" not in cookie_header(node_app.client.post("/login", data=form))


def test_a_cookie_write_without_the_csrf_token_is_refused(node_app: NodeApp) -> None:
    admin = node_app.user("administrator")
    token = page_login(node_app.client, admin)
    before = row_counts(node_app.engine, ignore=AUDIT_TABLES)
    body = {"username": "new-clerk", "full_name": "New Clerk", "role": "clerk"}
    body["password"] = "Correct-Horse-9"
    refused = node_app.client.post("/api/users", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"].startswith("Missing or wrong CSRF token")
    wrong = node_app.client.post("/api/users", json=body, headers={"X-CSRF-Token": "x" + token})
    assert wrong.status_code == 403
    assert row_counts(node_app.engine, ignore=AUDIT_TABLES) == before
    with node_app.engine.connect() as connection:
        reasons = connection.execute(
            select(AuditRecord.user_id, AuditRecord.detail).filter_by(action="access_denied")
        ).all()
    assert [(user, detail["reason"]) for user, detail in reasons] == [
        (admin.id, "missing or wrong CSRF token")
    ] * 2
    made = node_app.client.post("/api/users", json=body, headers={"X-CSRF-Token": token})
    assert made.status_code == 201


def test_the_logout_form_carries_the_token_and_ends_the_session(node_app: NodeApp) -> None:
    doctor = node_app.user("doctor")
    token = page_login(node_app.client, doctor)
    assert node_app.client.post("/logout").status_code == 403  # no token: refused
    response = node_app.client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.location == "/login?logged_out=1"
    assert "clinic_auth=;" in cookie_header(response)
    with node_app.engine.connect() as connection:
        assert connection.scalar(select(WebSession.revoked_at)) is not None
    page = node_app.client.get("/login?logged_out=1").get_data(as_text=True)
    assert "You have logged out." in page


def test_a_revoked_session_cookie_no_longer_works(node_app: NodeApp) -> None:
    clerk = node_app.user("clerk")
    token = page_login(node_app.client, clerk)
    raw_id = node_app.client.get_cookie("clinic_auth").value
    node_app.client.post("/api/auth/logout", headers={"X-CSRF-Token": token})
    thief = node_app.app.test_client()
    thief.set_cookie("clinic_auth", raw_id)
    assert thief.get("/api/auth/me").status_code == 401
    assert thief.get("/").status_code == 302


def test_an_idle_session_ends_and_the_login_page_says_why(
    node_app: NodeApp, clock: Callable[[dt.timedelta], None]
) -> None:
    nurse = node_app.user("nurse")
    page_login(node_app.client, nurse)
    clock(dt.timedelta(minutes=20))
    assert node_app.client.get("/").status_code == 200  # activity keeps it alive
    clock(dt.timedelta(minutes=20))
    assert node_app.client.get("/api/auth/verify").status_code == 200
    clock(dt.timedelta(minutes=31))
    response = node_app.client.get("/")
    assert response.status_code == 302 and response.location == "/login?next=/"
    page = node_app.client.get(response.location).get_data(as_text=True)
    assert "You were logged off after 30 minutes without activity." in page
    assert node_app.client.get("/api/auth/me").status_code == 401


def test_a_session_expires_after_its_lifetime_however_busy(
    node_app: NodeApp, clock: Callable[[dt.timedelta], None]
) -> None:
    viewer = node_app.user("viewer")
    page_login(node_app.client, viewer)
    for _ in range(12 * 4):
        clock(dt.timedelta(minutes=15))
        node_app.client.get("/api/auth/verify")
    response = node_app.client.get("/")
    assert response.status_code == 302
    page = node_app.client.get(response.location).get_data(as_text=True)
    assert "Your session has expired." in page


def test_login_page_messages(node_app: NodeApp) -> None:
    clerk = node_app.user("clerk")
    wrong = node_app.client.post("/login", data={"username": clerk.username, "password": "x"})
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.get_data(as_text=True)
    empty = node_app.client.post("/login", data={})
    assert empty.status_code == 400
    assert "Enter your username and password." in empty.get_data(as_text=True)
    for _ in range(5):
        locked = node_app.client.post("/login", data={"username": clerk.username, "password": "x"})
    assert locked.status_code == 403
    assert "Too many failed logins from this address" in locked.get_data(as_text=True)


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/api/auth/me", "/api/auth/me"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_login_returns_to_where_the_user_was_going_on_this_site_only(
    node_app: NodeApp, next_url: str, landing: str
) -> None:
    nurse = node_app.user("nurse")
    form = {"username": nurse.username, "password": nurse.password, "next": next_url}
    assert node_app.client.post("/login", data=form).location == landing


def test_a_protected_page_sends_the_browser_to_login_and_back(node_app: NodeApp) -> None:
    response = node_app.client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 302 and response.location == "/login?next=/"
    page = node_app.client.get(response.location).get_data(as_text=True)
    assert 'name="next" value="/"' in page


def test_a_logged_in_browser_skips_the_login_page(node_app: NodeApp) -> None:
    finance = node_app.user("finance")
    page_login(node_app.client, finance)
    assert node_app.client.get("/login").location == "/"


@pytest.mark.parametrize("change", ["deactivate", "take off the vehicle"])
def test_a_live_session_ends_at_once_when_its_user_may_no_longer_work_here(
    edge_client: Any,
    edge_engine: Engine,
    edge_user: Callable[..., Staff],
    edge_vehicle: str,
    change: str,
) -> None:
    doctor = edge_user("doctor", made_on=HUB_NODE_ID)
    browser = edge_client.application.test_client()
    page_login(browser, doctor)
    assert browser.get("/api/auth/me").status_code == 200
    if change == "deactivate":  # head office's change, arrived by sync
        with new_session(edge_engine) as session, session.begin():
            session.get_one(User, doctor.id).active = False
    else:
        unassign(edge_engine, doctor.id, edge_vehicle)
    assert browser.get("/api/auth/me").status_code == 401
    assert browser.get("/").status_code == 302  # back to the login page
