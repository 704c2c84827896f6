"""Access and refresh tokens: refresh, revocation that survives a restart, and every kind
of bad token refused with a 401 envelope and nothing written but the audit record."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask
from jwt.warnings import InsecureKeyLengthWarning
from sqlalchemy import Engine, select

from common.database import db, new_session
from common.node import HUB_NODE_ID
from common.password import hash_password
from common.users import create_user
from schema.models import AuditRecord, User
from tests.conftest import TEST_SECRET, edge_config
from tests.support.identity import PASSWORD, NodeApp, Staff, page_login, unassign
from tests.support.sync import Net
from tests.support.tables import AUDIT_TABLES, row_counts


def claims(app: Flask, user_id: str, **overrides: Any) -> dict[str, Any]:
    """Claims shaped like the app's own access tokens."""
    now = int(time.time())
    issuer = app.config["JWT_ENCODE_ISSUER"]
    base = {
        "sub": user_id,
        "jti": str(uuid.uuid4()),
        "type": "access",
        "fresh": False,
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "iss": issuer,
        "aud": app.config["JWT_ENCODE_AUDIENCE"],
        "fam": uuid.uuid4().hex,
        "crd": "0" * 32,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def forged(
    app: Flask, user_id: str, key: str = TEST_SECRET, alg: str = "HS256", **over: Any
) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)  # HS512 wants a longer key
        return jwt.encode(claims(app, user_id, **over), key, algorithm=alg)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def last_denial(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(
            select(AuditRecord).order_by(AuditRecord.chain_seq.desc()).limit(1)
        ).one()


def test_refresh_gives_a_new_access_token(node_app: NodeApp) -> None:
    doctor = node_app.user("doctor")
    response = node_app.client.post(
        "/api/auth/refresh", json={"refresh_token": doctor.refresh_token}
    )
    assert response.status_code == 200
    fresh = response.get_json()["data"]["access_token"]
    assert fresh != doctor.access_token
    assert node_app.client.get("/api/auth/me", headers=bearer(fresh)).status_code == 200


def test_tokens_cannot_stand_in_for_each_other(node_app: NodeApp) -> None:
    nurse = node_app.user("nurse")
    as_refresh = node_app.client.post(
        "/api/auth/refresh", json={"refresh_token": nurse.access_token}
    )
    assert as_refresh.status_code == 401
    assert as_refresh.get_json()["error"] == ("Send the refresh token here, not the access token")
    as_access = node_app.client.get("/api/auth/me", headers=bearer(nurse.refresh_token))
    assert as_access.status_code == 401
    assert as_access.get_json()["error"] == ("Send the access token here, not the refresh token")


def test_logout_revokes_the_access_and_refresh_tokens(node_app: NodeApp) -> None:
    clerk = node_app.user("clerk")
    response = node_app.client.post(
        "/api/auth/logout", json={"refresh_token": clerk.refresh_token}, headers=clerk.headers
    )
    assert response.status_code == 200
    me = node_app.client.get("/api/auth/me", headers=clerk.headers)
    assert me.status_code == 401
    assert me.get_json() == {
        "success": False,
        "error": "The token has been revoked; log in again",
    }
    refreshed = node_app.client.post(
        "/api/auth/refresh", json={"refresh_token": clerk.refresh_token}
    )
    assert refreshed.status_code == 401
    with node_app.engine.connect() as connection:
        logouts = connection.scalars(select(AuditRecord.user_id).filter_by(action="logout"))
        assert list(logouts) == [clerk.id]


def test_logout_without_a_body_revokes_the_access_token(node_app: NodeApp) -> None:
    viewer = node_app.user("viewer")
    assert node_app.client.post("/api/auth/logout", headers=viewer.headers).status_code == 200
    assert node_app.client.get("/api/auth/verify", headers=viewer.headers).status_code == 401


def test_revocation_survives_a_restart(
    edge_db: Path, edge_key: bytes, edge_client: Any, edge_user: Callable[..., Staff]
) -> None:
    from edge import create_app

    nurse = edge_user("nurse")
    assert edge_client.post("/api/auth/logout", headers=nurse.headers).status_code == 200
    restarted = create_app(edge_config(edge_db, edge_key)).test_client()
    assert restarted.get("/api/auth/me", headers=nurse.headers).status_code == 401


def test_a_logout_with_nothing_to_revoke_is_fine_and_writes_nothing(node_app: NodeApp) -> None:
    before = row_counts(node_app.engine)
    response = node_app.client.post("/api/auth/logout")
    assert response.status_code == 200
    assert row_counts(node_app.engine) == before


def test_deactivation_stops_a_live_token_at_once(node_app: NodeApp) -> None:
    admin, nurse = node_app.user("administrator"), node_app.user("nurse")
    assert node_app.client.get("/api/auth/me", headers=nurse.headers).status_code == 200
    deactivated = node_app.client.post(f"/api/users/{nurse.id}/deactivate", headers=admin.headers)
    assert deactivated.status_code == 200
    response = node_app.client.get("/api/auth/me", headers=nurse.headers)
    assert response.status_code == 401
    assert "deactivated" in response.get_json()["error"]


def logged_in(node_app: NodeApp, staff: Staff) -> dict[str, Any]:
    """A login through the API: the tokens it hands out."""
    body = {"username": staff.username, "password": staff.password}
    response = node_app.client.post("/api/auth/login", json=body)
    assert response.status_code == 200, response.get_json()
    data: dict[str, Any] = response.get_json()["data"]
    return data


def refreshed(node_app: NodeApp, refresh_token: str) -> Any:
    return node_app.client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


def me_with(node_app: NodeApp, access_token: str) -> Any:
    return node_app.client.get("/api/auth/me", headers=bearer(access_token))


CHANGES: dict[str, Callable[[NodeApp, Staff, Staff], Any]] = {
    "password reset": lambda app, admin, user: app.client.post(
        f"/api/users/{user.id}/reset-password", headers=admin.headers
    ),
    "password set by an administrator": lambda app, admin, user: app.client.put(
        f"/api/users/{user.id}", json={"password": "An0ther-passw0rd!"}, headers=admin.headers
    ),
    "role change": lambda app, admin, user: app.client.put(
        f"/api/users/{user.id}", json={"role": "finance"}, headers=admin.headers
    ),
    "deactivation": lambda app, admin, user: app.client.post(
        f"/api/users/{user.id}/deactivate", headers=admin.headers
    ),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_of_standing_ends_every_token_and_session_of_the_user_at_once(
    node_app: NodeApp, change: str
) -> None:
    """Two logins by API (one of them refreshed once) and a browser session: after a
    reset, a new password, a new role or deactivation, none of them works any more."""
    admin, clerk = node_app.user("administrator"), node_app.user("clerk")
    first, second = logged_in(node_app, clerk), logged_in(node_app, clerk)
    again = refreshed(node_app, second["refresh_token"]).get_json()["data"]["access_token"]
    browser = node_app.app.test_client()
    page_login(browser, clerk)
    live = [first["access_token"], second["access_token"], again, clerk.access_token]
    assert all(me_with(node_app, token).status_code == 200 for token in live)

    assert CHANGES[change](node_app, admin, clerk).status_code == 200

    for token in live:
        assert me_with(node_app, token).status_code == 401
    for token in (first["refresh_token"], second["refresh_token"], clerk.refresh_token):
        assert refreshed(node_app, token).status_code == 401
    assert browser.get("/api/auth/me").status_code == 401
    assert browser.get("/", headers={"Accept": "text/html"}).status_code == 302
    notice = browser.get("/login").get_data(as_text=True)
    assert "Your password or role was changed, or your account deactivated." in notice


def test_a_token_after_a_role_change_carries_the_new_role(node_app: NodeApp) -> None:
    admin, clerk = node_app.user("administrator"), node_app.user("clerk")
    node_app.client.put(f"/api/users/{clerk.id}", json={"role": "finance"}, headers=admin.headers)
    me = me_with(node_app, logged_in(node_app, clerk)["access_token"]).get_json()["data"]
    assert me["user"]["role"] == "finance" and "claims:read" in me["permissions"]


def test_changing_your_own_password_ends_your_other_logins_and_hands_you_new_tokens(
    node_app: NodeApp,
) -> None:
    nurse = node_app.user("nurse")
    other = logged_in(node_app, nurse)
    body = {"current_password": nurse.password, "new_password": "N3w-and-l0nger!"}
    response = node_app.client.post("/api/auth/password", json=body, headers=nurse.headers)
    assert response.status_code == 200
    fresh = response.get_json()["data"]
    assert me_with(node_app, fresh["access_token"]).status_code == 200
    assert refreshed(node_app, fresh["refresh_token"]).status_code == 200
    for token in (nurse.access_token, other["access_token"]):
        assert me_with(node_app, token).status_code == 401
    for token in (nurse.refresh_token, other["refresh_token"]):
        assert refreshed(node_app, token).status_code == 401


def test_changing_your_password_in_the_browser_keeps_you_in_with_a_new_session(
    node_app: NodeApp,
) -> None:
    doctor = node_app.user("doctor")
    browser, elsewhere = node_app.app.test_client(), node_app.app.test_client()
    csrf = page_login(browser, doctor)
    page_login(elsewhere, doctor)
    old_cookie = browser.get_cookie("clinic_auth").value
    form = {
        "current_password": doctor.password,
        "new_password": "N3w-and-l0nger!",
        "csrf_token": csrf,
    }
    assert browser.post("/password", data=form).status_code == 302
    assert browser.get_cookie("clinic_auth").value != old_cookie
    assert browser.get("/api/auth/me").status_code == 200
    assert elsewhere.get("/api/auth/me").status_code == 401
    thief = node_app.app.test_client()
    thief.set_cookie("clinic_auth", old_cookie)
    assert thief.get("/api/auth/me").status_code == 401


def test_logout_with_the_access_token_alone_ends_its_whole_family(node_app: NodeApp) -> None:
    """The refresh token issued with it, and an access token refreshed from that before."""
    viewer = node_app.user("viewer")
    tokens = logged_in(node_app, viewer)
    sibling = refreshed(node_app, tokens["refresh_token"]).get_json()["data"]["access_token"]
    other_login = logged_in(node_app, viewer)

    out = node_app.client.post("/api/auth/logout", headers=bearer(tokens["access_token"]))

    assert out.status_code == 200
    assert me_with(node_app, tokens["access_token"]).status_code == 401
    assert me_with(node_app, sibling).status_code == 401
    assert refreshed(node_app, tokens["refresh_token"]).status_code == 401
    assert me_with(node_app, other_login["access_token"]).status_code == 200  # another login


def test_logout_with_the_refresh_token_alone_ends_its_access_tokens(node_app: NodeApp) -> None:
    finance = node_app.user("finance")
    tokens = logged_in(node_app, finance)
    out = node_app.client.post("/api/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 200
    assert me_with(node_app, tokens["access_token"]).status_code == 401


def test_taking_a_user_off_the_vehicle_stops_their_token(
    edge_client: Any, edge_engine: Engine, edge_user: Callable[..., Staff], edge_vehicle: str
) -> None:
    doctor = edge_user("doctor", made_on=HUB_NODE_ID)
    unassign(edge_engine, doctor.id, edge_vehicle)  # at head office, arrived by sync
    response = edge_client.get("/api/auth/me", headers=doctor.headers)
    assert response.status_code == 401
    assert "not assigned to this vehicle" in response.get_json()["error"]


BAD_TOKENS: dict[str, Callable[[Flask, str], dict[str, str]]] = {
    "no scheme": lambda app, uid: {"Authorization": forged(app, uid)},
    "basic auth": lambda app, uid: {"Authorization": "Basic dXNlcjpwYXNz"},
    "empty bearer": lambda app, uid: {"Authorization": "Bearer "},
    "garbage": lambda app, uid: bearer("not.a.token"),
    "not base64": lambda app, uid: bearer("@@@.###.$$$"),
    "unicode": lambda app, uid: bearer("ey\u00e9.x.y"),
    "expired": lambda app, uid: bearer(forged(app, uid, exp=int(time.time()) - 5)),
    "another key": lambda app, uid: bearer(forged(app, uid, key="another-key-" + "9" * 40)),
    "alg none": lambda app, uid: bearer(forged(app, uid, key="", alg="none")),
    "HS512": lambda app, uid: bearer(forged(app, uid, alg="HS512")),
    "no exp": lambda app, uid: bearer(forged(app, uid, exp=None)),
    "no iss": lambda app, uid: bearer(forged(app, uid, iss=None)),
    "no aud": lambda app, uid: bearer(forged(app, uid, aud=None)),
    "no jti": lambda app, uid: bearer(forged(app, uid, jti=None)),
    "other app's issuer": lambda app, uid: bearer(forged(app, uid, iss="mobile-clinic-other")),
    "other app's audience": lambda app, uid: bearer(forged(app, uid, aud="somebody-else")),
    "unknown user": lambda app, uid: bearer(forged(app, str(uuid.uuid4()))),
    "numeric subject": lambda app, uid: bearer(forged(app, uid, sub=12)),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_401_and_write_only_an_audit_record(node_app: NodeApp, kind: str) -> None:
    doctor = node_app.user("doctor")
    before = row_counts(node_app.engine, ignore=AUDIT_TABLES)
    response = node_app.client.get(
        "/api/auth/me", headers=BAD_TOKENS[kind](node_app.app, doctor.id)
    )
    assert response.status_code == 401
    body = response.get_json()
    assert body["success"] is False and body["error"]
    assert row_counts(node_app.engine, ignore=AUDIT_TABLES) == before
    denial = last_denial(node_app.engine)
    assert (denial.action, denial.outcome, denial.user_id) == ("access_denied", "denied", None)
    assert denial.detail["path"] == "/api/auth/me"


def test_an_edge_token_is_refused_at_the_hub_and_back(
    edge_app: Flask, hub_client: Any, hub_app: Flask, edge_client: Any
) -> None:
    assert edge_app.config["JWT_DECODE_ISSUER"] != hub_app.config["JWT_DECODE_ISSUER"]
    edge_token = forged(edge_app, str(uuid.uuid4()))
    hub_token = forged(hub_app, str(uuid.uuid4()))
    assert hub_client.get("/api/auth/me", headers=bearer(edge_token)).status_code == 401
    assert edge_client.get("/api/auth/me", headers=bearer(hub_token)).status_code == 401


def test_a_bad_token_on_a_public_route_is_just_anonymous(node_app: NodeApp) -> None:
    expired = forged(node_app.app, str(uuid.uuid4()), exp=int(time.time()) - 5)
    response = node_app.client.get("/api/health", headers=bearer(expired))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "body", [{}, {"refresh_token": ""}, {"refresh_token": 7}, {"refresh_token": "x" * 5000}]
)
def test_bad_refresh_input_is_400(node_app: NodeApp, body: dict[str, Any]) -> None:
    before = row_counts(node_app.engine)
    response = node_app.client.post("/api/auth/refresh", json=body)
    assert response.status_code == 400 and response.get_json()["success"] is False
    assert row_counts(node_app.engine) == before


def test_an_invalid_refresh_token_is_401(node_app: NodeApp) -> None:
    forged_refresh = forged(
        node_app.app, str(uuid.uuid4()), key="another-key-" + "1" * 40, type="refresh"
    )
    response = node_app.client.post("/api/auth/refresh", json={"refresh_token": forged_refresh})
    assert response.status_code == 401
    assert response.get_json() == {"success": False, "error": "The token is not valid"}


def test_a_deactivated_user_cannot_refresh(node_app: NodeApp) -> None:
    admin, finance = node_app.user("administrator"), node_app.user("finance")
    node_app.client.post(f"/api/users/{finance.id}/deactivate", headers=admin.headers)
    response = node_app.client.post(
        "/api/auth/refresh", json={"refresh_token": finance.refresh_token}
    )
    assert response.status_code == 401
    assert "deactivated" in response.get_json()["error"]
    denial = last_denial(node_app.engine)
    assert (denial.action, denial.user_id) == ("token_refresh", finance.id)


def test_a_reset_at_head_office_ends_the_tokens_on_the_laptop_once_it_arrives(
    sync_net: Callable[[], Net], edge_key: bytes
) -> None:
    """The user row syncs to the vehicles: the laptop compares every token and session
    with the row it holds, so the reset ends them there with the next pull, with nothing
    else sent."""
    from edge import create_app

    net = sync_net()
    laptop = net.edge("A")
    with new_session(net.hub_engine) as session, session.begin():
        user = create_user(
            session,
            username="sister.mthembu",
            full_name="Sister Mthembu",
            role="nurse",
            password=PASSWORD,
            vehicle_ids=[laptop.vehicle_id],
        )
        user_id = user.id
    laptop.sync()
    app = create_app(edge_config(Path(str(laptop.engine.url.database)), edge_key))
    client = app.test_client()
    body = {"username": "sister.mthembu", "password": PASSWORD}
    issued = client.post("/api/auth/login", json=body).get_json()["data"]
    browser = app.test_client()
    assert browser.post("/login", data=body).status_code == 302
    assert client.get("/api/auth/me", headers=bearer(issued["access_token"])).status_code == 200

    with new_session(net.hub_engine) as session, session.begin():
        session.get_one(User, user_id).password_hash = hash_password("Temp0rary-pass!")
    assert client.get("/api/auth/me", headers=bearer(issued["access_token"])).status_code == 200
    laptop.sync()

    assert client.get("/api/auth/me", headers=bearer(issued["access_token"])).status_code == 401
    again = client.post("/api/auth/refresh", json={"refresh_token": issued["refresh_token"]})
    assert again.status_code == 401
    assert browser.get("/api/auth/me").status_code == 401
    with app.app_context():
        db.engine.dispose()
