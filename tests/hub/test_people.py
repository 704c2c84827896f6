"""People at head office: password resets that must be changed, and staff invitations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from schema.models import AuditRecord, Invite, User
from tests.support.identity import Staff
from tests.support.tables import AUDIT_TABLES, row_counts

NEW_PASSWORD = "Brand-New-Horse-4"


def login(client: Any, username: str, password: str) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_a_reset_password_works_only_to_change_it(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin, nurse = hub_user("administrator"), hub_user("nurse")
    reset = hub_client.post(f"/api/users/{nurse.id}/reset-password", headers=admin.headers)
    assert reset.status_code == 200
    temporary = reset.get_json()["data"]["temporary_password"]
    assert reset.get_json()["data"]["user"]["must_change_password"] is True
    assert login(hub_client, nurse.username, nurse.password).status_code == 401
    # A token issued before the reset ends with it.
    assert hub_client.get("/api/formulary", headers=nurse.headers).status_code == 401

    logged_in = login(hub_client, nurse.username, temporary)
    assert logged_in.status_code == 200
    headers = {"Authorization": f"Bearer {logged_in.get_json()['data']['access_token']}"}
    me = hub_client.get("/api/auth/me", headers=headers).get_json()["data"]
    assert me["user"]["must_change_password"] is True
    refused = hub_client.get("/api/formulary", headers=headers)
    assert refused.status_code == 403 and "temporary password" in refused.get_json()["error"]

    same = {"current_password": temporary, "new_password": temporary}
    assert hub_client.post("/api/auth/password", json=same, headers=headers).status_code == 400
    wrong = {"current_password": "Not-The-One-1", "new_password": NEW_PASSWORD}
    assert hub_client.post("/api/auth/password", json=wrong, headers=headers).status_code == 400
    body = {"current_password": temporary, "new_password": NEW_PASSWORD}
    changed = hub_client.post("/api/auth/password", json=body, headers=headers)
    assert changed.status_code == 200
    assert hub_client.get("/api/formulary", headers=headers).status_code == 401  # ended too
    headers = {"Authorization": f"Bearer {changed.get_json()['data']['access_token']}"}
    assert hub_client.get("/api/formulary", headers=headers).status_code == 200
    assert login(hub_client, nurse.username, NEW_PASSWORD).status_code == 200
    with hub_engine.connect() as connection:
        actions = set(connection.scalars(select(AuditRecord.action)))
    assert {"password_reset", "password_changed"} <= actions


def test_the_login_page_sends_a_temporary_password_to_the_change_page(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    admin, clerk = hub_user("administrator"), hub_user("clerk")
    reset = hub_client.post(f"/api/users/{clerk.id}/reset-password", headers=admin.headers)
    temporary = reset.get_json()["data"]["temporary_password"]
    response = hub_client.post("/login", data={"username": clerk.username, "password": temporary})
    assert response.status_code == 302 and response.location == "/password"
    page = hub_client.get("/password").get_data(as_text=True)
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert hub_client.get("/", headers={"Accept": "text/html"}).status_code == 403
    form = {"csrf_token": csrf, "current_password": temporary, "new_password": NEW_PASSWORD}
    assert hub_client.post("/password", data=form).status_code == 302
    assert hub_client.get("/").status_code == 200


def test_an_administrator_cannot_reset_their_own_password(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    response = hub_client.post(f"/api/users/{admin.id}/reset-password", headers=admin.headers)
    assert response.status_code == 409


INVITE = {"username": "dr.naidoo", "full_name": "Dr Naidoo", "role": "doctor"}


def test_an_invited_person_chooses_their_password_once(
    hub_client: Any,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
    hub_engine: Engine,
) -> None:
    admin, vehicle = hub_user("administrator"), hub_vehicle()
    body = {**INVITE, "vehicle_ids": [vehicle]}
    made = hub_client.post("/api/invites", json=body, headers=admin.headers)
    assert made.status_code == 201, made.get_json()
    issued = made.get_json()["data"]
    token = issued["token"]
    assert issued["accept_url"].endswith("/invite#" + token)
    assert issued["user"]["vehicle_ids"] == [vehicle]
    with hub_engine.connect() as connection:
        stored = connection.execute(select(Invite)).one()
    assert stored.token_hash != token and len(stored.token_hash) == 64

    pending = hub_client.get("/api/invites", headers=admin.headers).get_json()
    assert [i["username"] for i in pending["data"]] == ["dr.naidoo"]
    weak = hub_client.post("/api/invites/accept", json={"token": token, "password": "short"})
    assert weak.status_code == 400
    accept = {"token": token, "password": NEW_PASSWORD}
    accepted = hub_client.post("/api/invites/accept", json=accept)
    assert accepted.status_code == 200 and accepted.get_json()["data"]["username"] == "dr.naidoo"
    assert hub_client.post("/api/invites/accept", json=accept).status_code == 400  # used
    assert login(hub_client, "dr.naidoo", NEW_PASSWORD).status_code == 200
    assert hub_client.get("/api/invites", headers=admin.headers).get_json()["data"] == []


def test_an_invitation_of_a_deactivated_account_is_void(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    issued = hub_client.post("/api/invites", json=INVITE, headers=admin.headers).get_json()["data"]
    hub_client.post(f"/api/users/{issued['user']['id']}/deactivate", headers=admin.headers)
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    accept = {"token": issued["token"], "password": NEW_PASSWORD}
    assert hub_client.post("/api/invites/accept", json=accept).status_code == 400
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {**INVITE, "role": "captain"},
        {**INVITE, "username": "No Spaces"},
        {**INVITE, "vehicle_ids": ["no-such-vehicle"]},
        {**INVITE, "email": "not-an-email"},
    ],
)
def test_a_bad_invitation_writes_nothing(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, body: dict[str, Any]
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    response = hub_client.post("/api/invites", json=body, headers=admin.headers)
    assert 400 <= response.status_code < 500 and response.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_only_user_managers_invite(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    for role in ("finance", "viewer", "inventory_manager"):
        staff = hub_user(role)
        response = hub_client.post("/api/invites", json=INVITE, headers=staff.headers)
        assert response.status_code == 403
    with hub_engine.connect() as connection:
        assert connection.scalar(select(User.id).where(User.username == "dr.naidoo")) is None


def test_a_withdrawn_invitation_is_refused_and_its_account_deactivated(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    issued = hub_client.post("/api/invites", json=INVITE, headers=admin.headers).get_json()["data"]
    path = f"/api/invites/{issued['invite']['id']}/withdraw"
    withdrawn = hub_client.post(path, headers=admin.headers)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["data"]["withdrawn_at"] is not None
    assert hub_client.get("/api/invites", headers=admin.headers).get_json()["data"] == []

    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    accept = {"token": issued["token"], "password": NEW_PASSWORD}
    refused = hub_client.post("/api/invites/accept", json=accept)
    assert refused.status_code == 400 and "withdrawn" in refused.get_json()["error"]
    again = hub_client.post(path, headers=admin.headers)
    assert again.status_code == 409 and again.get_json()["success"] is False
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    with hub_engine.connect() as connection:
        active = connection.scalar(select(User.active).where(User.id == issued["user"]["id"]))
        actions = set(connection.scalars(select(AuditRecord.action)))
    assert active is False and "invite_withdrawn" in actions


def test_an_accepted_or_unknown_invitation_cannot_be_withdrawn(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    issued = hub_client.post("/api/invites", json=INVITE, headers=admin.headers).get_json()["data"]
    accept = {"token": issued["token"], "password": NEW_PASSWORD}
    assert hub_client.post("/api/invites/accept", json=accept).status_code == 200
    others = [hub_user(role) for role in ("finance", "viewer", "inventory_manager")]
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    path = f"/api/invites/{issued['invite']['id']}/withdraw"
    assert hub_client.post(path, headers=admin.headers).status_code == 409
    missing = hub_client.post("/api/invites/no-such-invite/withdraw", headers=admin.headers)
    assert missing.status_code == 404
    for staff in others:
        assert hub_client.post(path, headers=staff.headers).status_code == 403
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
    assert login(hub_client, INVITE["username"], NEW_PASSWORD).status_code == 200
