"""The users API on both apps; on a vehicle it sees and assigns only that vehicle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.node import HUB_NODE_ID
from schema.models import AuditRecord
from tests.conftest import EDGE_NODE_ID
from tests.support.identity import NodeApp, Staff, make_vehicle
from tests.support.tables import AUDIT_TABLES, row_counts

NEW = {
    "username": "sister.mokoena",
    "full_name": "Sister Mokoena",
    "role": "nurse",
    "password": "Correct-Horse-9",
}


def audit_actions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(AuditRecord.action).order_by(AuditRecord.chain_seq)))


def test_an_administrator_manages_a_user_from_start_to_finish(node_app: NodeApp) -> None:
    admin = node_app.user("administrator")
    client, headers = node_app.client, admin.headers
    made = client.post("/api/users", json={**NEW, "email": "Sister@Example.org"}, headers=headers)
    assert made.status_code == 201
    user = made.get_json()["data"]
    assert user["username"] == "sister.mokoena" and user["email"] == "sister@example.org"
    assert user["active"] is True and "password" not in user and "password_hash" not in user
    login = {"username": NEW["username"], "password": NEW["password"]}
    assert client.post("/api/auth/login", json=login).status_code == 200

    changed = client.put(
        f"/api/users/{user['id']}",
        json={"role": "doctor", "full_name": "Dr Mokoena", "password": "Another-Horse-7"},
        headers=headers,
    )
    assert changed.get_json()["data"]["role"] == "doctor"
    assert client.post("/api/auth/login", json=login).status_code == 401  # old password
    fetched = client.get(f"/api/users/{user['id']}", headers=headers).get_json()["data"]
    assert fetched["full_name"] == "Dr Mokoena"

    gone = client.post(f"/api/users/{user['id']}/deactivate", headers=headers)
    assert gone.get_json()["data"]["active"] is False
    login["password"] = "Another-Horse-7"
    assert client.post("/api/auth/login", json=login).status_code == 403
    assert audit_actions(node_app.engine) == [
        "user_created",
        "login",
        "user_updated",
        "login_failed",
        "user_updated",
        "login_refused",
    ]


def test_the_list_pages_and_filters(node_app: NodeApp) -> None:
    admin = node_app.user("administrator", username="admin-a")
    for role in ("nurse", "nurse", "clerk"):
        node_app.user(role)
    client = node_app.client
    page = client.get("/api/users?per_page=2&page=1", headers=admin.headers).get_json()
    assert page["pagination"] == {"page": 1, "per_page": 2, "total": 4, "pages": 2}
    assert [u["username"] for u in page["data"]] == sorted(u["username"] for u in page["data"])
    nurses = client.get("/api/users?role=nurse", headers=admin.headers).get_json()["data"]
    assert {u["role"] for u in nurses} == {"nurse"} and len(nurses) == 2
    found = client.get("/api/users?q=ADMIN-", headers=admin.headers).get_json()["data"]
    assert [u["username"] for u in found] == ["admin-a"]
    wildcard = client.get("/api/users?q=%25", headers=admin.headers).get_json()["data"]
    assert wildcard == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/users", {**NEW, "role": "superuser"}),
        ("POST", "/api/users", {**NEW, "username": "No Spaces Allowed"}),
        ("POST", "/api/users", {**NEW, "password": "short"}),
        ("POST", "/api/users", {**NEW, "email": "not-an-email"}),
        ("POST", "/api/users", {**NEW, "vehicle_ids": "abc"}),
        ("POST", "/api/users", {"username": "x"}),
        ("PUT", "/api/users/{me}", {}),
        ("PUT", "/api/users/{me}", {"active": "maybe"}),
        ("PUT", "/api/users/{me}", {"username": "renamed"}),
        ("GET", "/api/users?per_page=1000", None),
        ("GET", "/api/users?active=perhaps", None),
    ],
)
def test_bad_input_is_400_and_changes_nothing(
    node_app: NodeApp, method: str, path: str, body: Any
) -> None:
    admin = node_app.user("administrator")
    before = row_counts(node_app.engine)
    response = node_app.client.open(
        path.format(me=admin.id), method=method, json=body, headers=admin.headers
    )
    assert response.status_code == 400
    assert response.get_json()["success"] is False
    assert row_counts(node_app.engine) == before


def test_clashes_and_self_lockout_are_409(node_app: NodeApp) -> None:
    admin = node_app.user("administrator")
    client, headers = node_app.client, admin.headers
    assert client.post("/api/users", json=NEW, headers=headers).status_code == 201
    again = client.post("/api/users", json=NEW, headers=headers)
    assert again.status_code == 409 and "already exists" in again.get_json()["error"]
    before = row_counts(node_app.engine, ignore=AUDIT_TABLES)
    assert client.post(f"/api/users/{admin.id}/deactivate", headers=headers).status_code == 409
    demote = client.put(f"/api/users/{admin.id}", json={"role": "viewer"}, headers=headers)
    assert demote.status_code == 409
    assert row_counts(node_app.engine, ignore=AUDIT_TABLES) == before


def test_an_unknown_user_is_404(node_app: NodeApp) -> None:
    admin = node_app.user("administrator")
    missing = "00000000-0000-7000-8000-000000000000"
    assert node_app.client.get(f"/api/users/{missing}", headers=admin.headers).status_code == 404


@pytest.mark.parametrize(
    "role", ["fleet_planner", "stock_controller", "claims_clerk", "technician"]
)
def test_the_hub_creates_head_office_roles(
    hub_client: Any, hub_user: Callable[..., Staff], role: str
) -> None:
    admin = hub_user("administrator")
    made = hub_client.post("/api/users", json={**NEW, "role": role}, headers=admin.headers)
    assert made.status_code == 201 and made.get_json()["data"]["role"] == role
    login = {"username": NEW["username"], "password": NEW["password"]}
    token = hub_client.post("/api/auth/login", json=login).get_json()["data"]["access_token"]
    me = hub_client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.get_json()["data"]["user"]["role"] == role
    assert "dashboard:read" in me.get_json()["data"]["permissions"]
    wrong = hub_client.post("/api/users", json={**NEW, "role": "planner"}, headers=admin.headers)
    assert wrong.status_code == 400 and "role" in wrong.get_json()["details"]


def test_the_hub_assigns_users_to_any_vehicle(
    hub_client: Any, hub_user: Callable[..., Staff], hub_vehicle: Callable[..., str]
) -> None:
    admin, first, second = hub_user("administrator"), hub_vehicle(), hub_vehicle()
    body = {**NEW, "vehicle_ids": [first]}
    user = hub_client.post("/api/users", json=body, headers=admin.headers).get_json()["data"]
    assert user["vehicle_ids"] == [first]
    path = f"/api/users/{user['id']}/vehicles"
    both = hub_client.post(path, json={"vehicle_id": second}, headers=admin.headers)
    assert sorted(both.get_json()["data"]["vehicle_ids"]) == sorted([first, second])
    one = hub_client.delete(f"{path}/{first}", headers=admin.headers)
    assert one.get_json()["data"]["vehicle_ids"] == [second]
    unknown = hub_client.post(path, json={"vehicle_id": "no-such-vehicle"}, headers=admin.headers)
    assert unknown.status_code == 404


def test_an_edge_sees_its_own_crew_and_makes_only_emergency_accounts(
    edge_client: Any, edge_engine: Engine, edge_user: Callable[..., Staff], edge_vehicle: str
) -> None:
    other = make_vehicle(edge_engine)
    admin = edge_user("administrator")
    stranger = edge_user("doctor", assigned=False, vehicle_ids=[other], made_on=HUB_NODE_ID)
    listed = edge_client.get("/api/users", headers=admin.headers).get_json()["data"]
    assert [u["id"] for u in listed] == [admin.id]
    assert edge_client.get(f"/api/users/{stranger.id}", headers=admin.headers).status_code == 404

    made = edge_client.post("/api/users", json=NEW, headers=admin.headers).get_json()["data"]
    assert made["vehicle_ids"] == []  # an emergency account: this laptop's, no assignment
    assert made["emergency"] is True and made["made_on"] == EDGE_NODE_ID
    elsewhere = edge_client.post(
        "/api/users",
        json={**NEW, "username": "other.user", "vehicle_ids": [other]},
        headers=admin.headers,
    )
    assert elsewhere.status_code == 403
    for method, path, body in (  # assignments are made at head office: no such routes here
        ("POST", f"/api/users/{made['id']}/vehicles", {"vehicle_id": edge_vehicle}),
        ("DELETE", f"/api/users/{admin.id}/vehicles/{edge_vehicle}", None),
    ):
        refused = edge_client.open(path, method=method, json=body, headers=admin.headers)
        assert refused.status_code in (404, 405)


def test_an_edge_changes_only_its_own_emergency_accounts(
    edge_client: Any, edge_engine: Engine, edge_user: Callable[..., Staff]
) -> None:
    """A head-office account changes at head office: the hub would refuse the laptop's
    edit of it, and the two would disagree for good."""
    admin = edge_user("administrator")
    crew = edge_user("nurse", made_on=HUB_NODE_ID)
    before = row_counts(edge_engine, ignore=AUDIT_TABLES)
    for method, path, body in (
        ("PUT", f"/api/users/{crew.id}", {"role": "administrator"}),
        ("POST", f"/api/users/{crew.id}/deactivate", None),
        ("POST", f"/api/users/{crew.id}/reset-password", None),
    ):
        refused = edge_client.open(path, method=method, json=body, headers=admin.headers)
        assert refused.status_code == 403, (path, refused.get_json())
        assert (
            refused.get_json()["error"] == "This account is managed at head office: change it there"
        )
    assert row_counts(edge_engine, ignore=AUDIT_TABLES) == before
    own = edge_client.post("/api/users", json=NEW, headers=admin.headers).get_json()["data"]
    changed = edge_client.put(
        f"/api/users/{own['id']}", json={"full_name": "Sister Emergency"}, headers=admin.headers
    )
    assert changed.status_code == 200


def test_head_office_never_assigns_an_emergency_account_elsewhere(
    hub_client: Any,
    hub_engine: Engine,
    hub_user: Callable[..., Staff],
    hub_vehicle: Callable[..., str],
) -> None:
    admin, vehicle = hub_user("administrator"), hub_vehicle()
    laptop_made = hub_user("administrator", made_on="d000000000aa").id
    path = f"/api/users/{laptop_made}/vehicles"
    refused = hub_client.post(path, json={"vehicle_id": vehicle}, headers=admin.headers)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "An emergency account stays on the laptop it was made on"
    shown = hub_client.get(f"/api/users/{laptop_made}", headers=admin.headers).get_json()["data"]
    assert shown["emergency"] is True and shown["vehicle_ids"] == []


def test_deactivation_ends_the_users_browser_sessions(node_app: NodeApp) -> None:
    from tests.support.identity import page_login

    admin, nurse = node_app.user("administrator"), node_app.user("nurse")
    browser = node_app.app.test_client()
    page_login(browser, nurse)
    assert browser.get("/").status_code == 200
    node_app.client.post(f"/api/users/{nurse.id}/deactivate", headers=admin.headers)
    assert browser.get("/").status_code == 302


def test_a_reset_password_must_be_changed_before_anything_else(node_app: NodeApp) -> None:
    admin, clerk = node_app.user("administrator"), node_app.user("clerk")
    client = node_app.client
    reset = client.post(f"/api/users/{clerk.id}/reset-password", headers=admin.headers)
    assert reset.status_code == 200
    temporary = reset.get_json()["data"]["temporary_password"]
    logged_in = client.post(
        "/api/auth/login", json={"username": clerk.username, "password": temporary}
    )
    headers = {"Authorization": f"Bearer {logged_in.get_json()['data']['access_token']}"}
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert client.get("/api/auth/verify", headers=headers).status_code == 200
    assert client.get("/", headers=headers).status_code == 403  # the start page, and all else
    body = {"current_password": temporary, "new_password": "Clerk-New-Pass-3"}
    changed = client.post("/api/auth/password", json=body, headers=headers)
    assert changed.status_code == 200
    headers = {"Authorization": f"Bearer {changed.get_json()['data']['access_token']}"}
    me = client.get("/api/auth/me", headers=headers).get_json()["data"]["user"]
    assert me["must_change_password"] is False
    assert client.get("/", headers=headers).status_code == 200
    assert "password_reset" in audit_actions(node_app.engine)
