"""The optional authenticator-app second factor for head-office administrators."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pyotp
from sqlalchemy import Engine, select

from schema.models import User
from tests.support.identity import Staff


def enable(client: Any, admin: Staff) -> pyotp.TOTP:
    setup = client.post("/api/auth/totp/setup", headers=admin.headers).get_json()["data"]
    assert setup["provisioning_uri"].startswith("otpauth://totp/")
    assert admin.username in setup["provisioning_uri"]
    totp = pyotp.TOTP(setup["secret"])
    body = {"secret": setup["secret"], "code": totp.now()}
    assert client.post("/api/auth/totp/enable", json=body, headers=admin.headers).status_code == 200
    return totp


def wrong_code(totp: pyotp.TOTP) -> str:
    """A code the app is not showing (nor just before or after)."""
    valid = {totp.at(time.time() + step * totp.interval) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def login(client: Any, admin: Staff, **extra: Any) -> Any:
    body = {"username": admin.username, "password": admin.password, **extra}
    return client.post("/api/auth/login", json=body)


def test_once_enabled_login_needs_the_code(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    admin = hub_user("administrator")
    totp = enable(hub_client, admin)
    without = login(hub_client, admin)
    assert without.status_code == 401
    assert without.get_json()["error"] == "Enter the 6-digit code from your authenticator app"
    assert without.get_json()["details"] == {"totp": ["required"]}
    wrong_code = str((int(totp.now()) + 1) % 1_000_000).zfill(6)
    assert (
        login(hub_client, admin, totp=wrong_code).get_json()["error"] == "Wrong authenticator code"
    )
    assert login(hub_client, admin, totp=totp.now()).status_code == 200
    with hub_engine.connect() as connection:
        assert connection.scalar(select(User.totp_secret).filter_by(id=admin.id)) == totp.secret


def test_enabling_needs_a_code_from_the_app(
    hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    setup = hub_client.post("/api/auth/totp/setup", headers=admin.headers).get_json()["data"]
    for body in (
        {
            "secret": setup["secret"],
            "code": "000000" if pyotp.TOTP(setup["secret"]).now() != "000000" else "111111",
        },
        {"secret": "not-base32!", "code": "123456"},
        {"secret": setup["secret"]},
    ):
        response = hub_client.post("/api/auth/totp/enable", json=body, headers=admin.headers)
        assert response.status_code == 400
    assert login(hub_client, admin).status_code == 200  # still a password-only login


def test_disabling_needs_a_current_code(hub_client: Any, hub_user: Callable[..., Staff]) -> None:
    admin = hub_user("administrator")
    totp = enable(hub_client, admin)
    stale = "000000" if totp.now() != "000000" else "111111"
    refused = hub_client.post("/api/auth/totp/disable", json={"code": stale}, headers=admin.headers)
    assert refused.status_code == 400
    body = {"code": totp.now()}
    assert (
        hub_client.post("/api/auth/totp/disable", json=body, headers=admin.headers).status_code
        == 200
    )
    assert login(hub_client, admin).status_code == 200


def test_the_login_page_asks_for_the_code(hub_client: Any, hub_user: Callable[..., Staff]) -> None:
    admin = hub_user("administrator")
    totp = enable(hub_client, admin)
    form = {"username": admin.username, "password": admin.password}
    first = hub_client.post("/login", data=form)
    assert first.status_code == 401 and 'name="totp"' in first.get_data(as_text=True)
    assert hub_client.post("/login", data={**form, "totp": totp.now()}).status_code == 302


def test_only_the_hub_offers_totp(edge_client: Any, edge_user: Callable[..., Staff]) -> None:
    admin = edge_user("administrator")
    assert edge_client.post("/api/auth/totp/setup", headers=admin.headers).status_code == 404
