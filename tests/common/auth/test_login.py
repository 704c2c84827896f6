"""Logging in through the API: credentials, lockout, the vehicle rule, rate limiting."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from sqlalchemy import Engine, select

from common.auth import service
from common.database import db, new_session, write_intent
from common.node import HUB_NODE_ID
from common.password import hash_password, needs_rehash, verify_password
from schema.models import AuditRecord, LoginState, User
from sync.txn import WriteGate, gate_of
from tests.conftest import edge_config, hub_config
from tests.support.clock import movable_clock
from tests.support.identity import NodeApp, Staff, make_vehicle
from tests.support.tables import row_counts


def login(client: Any, username: str, password: str, **extra: Any) -> Any:
    return client.post(
        "/api/auth/login", json={"username": username, "password": password, **extra}
    )


def actions(engine: Engine) -> list[tuple[str, str, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AuditRecord.action, AuditRecord.outcome, AuditRecord.user_id).order_by(
                AuditRecord.chain_seq
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[dt.timedelta], None]:
    """Move the login service's clock forward."""
    return movable_clock(monkeypatch, service)


def test_login_returns_tokens_and_the_user(node_app: NodeApp) -> None:
    doctor = node_app.user("doctor")
    response = login(node_app.client, doctor.username.upper() + " ", doctor.password)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["token_type"] == "Bearer" and data["expires_in"] == 15 * 60
    assert data["refresh_expires_in"] == 7 * 24 * 3600
    assert data["user"]["id"] == doctor.id and data["user"]["role"] == "doctor"
    assert "password_hash" not in data["user"]
    me = node_app.client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {data['access_token']}"}
    )
    assert me.get_json()["data"]["user"]["username"] == doctor.username
    assert "patients:read" in me.get_json()["data"]["permissions"]
    assert actions(node_app.engine) == [("login", "success", doctor.id)]


def test_unknown_user_and_wrong_password_look_the_same(node_app: NodeApp) -> None:
    nurse = node_app.user("nurse")
    wrong = login(node_app.client, nurse.username, "Wrong-password-1")
    unknown = login(node_app.client, "nobody-here", "Wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json() == {"success": False, "error": "Wrong username or password"}
    # Both are recorded; the unknown name is not kept (it may be a mistyped password).
    assert actions(node_app.engine) == [
        ("login_failed", "failure", nurse.id),
        ("login_failed", "failure", None),
    ]
    with node_app.engine.connect() as connection:
        assert (
            connection.scalar(select(AuditRecord.username).where(AuditRecord.user_id.is_(None)))
            is None
        )


def test_lockout_after_five_failures_and_unlock_after_the_window(
    node_app: NodeApp, clock: Callable[[dt.timedelta], None]
) -> None:
    clerk = node_app.user("clerk")
    for attempt in range(4):
        response = login(node_app.client, clerk.username, f"Wrong-password-{attempt}")
        assert response.status_code == 401
    fifth = login(node_app.client, clerk.username, "Wrong-password-5")
    assert fifth.status_code == 403
    assert fifth.get_json()["error"] == (
        "Too many failed logins from this address. Try again in 15 minutes."
    )
    right_but_locked = login(node_app.client, clerk.username, clerk.password)
    assert right_but_locked.status_code == 403
    assert "Too many failed logins" in right_but_locked.get_json()["error"]
    clock(dt.timedelta(minutes=14))
    assert login(node_app.client, clerk.username, clerk.password).status_code == 403
    clock(dt.timedelta(minutes=1, seconds=1))
    assert login(node_app.client, clerk.username, clerk.password).status_code == 200
    recorded = [action for action, _outcome, _user in actions(node_app.engine)]
    assert recorded == ["login_failed"] * 5 + ["lockout", "login_locked", "login_locked", "login"]
    with node_app.engine.connect() as connection:
        assert connection.execute(select(LoginState).filter_by(user_id=clerk.id)).all() == []


def from_address(client: Any, address: str, username: str, password: str) -> Any:
    return client.post(
        "/api/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


ATTACKER = "198.51.100.7"
OWNER = "10.0.0.23"


def test_an_outsider_locks_out_only_their_own_address(node_app: NodeApp) -> None:
    """Five wrong passwords for someone else's account hold back the address they came
    from; the owner, at their own tablet or desk, logs in as ever."""
    nurse = node_app.user("nurse")
    answers = [
        from_address(node_app.client, ATTACKER, nurse.username, f"Wrong-{n}-password")
        for n in range(6)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 403, 403]
    assert from_address(node_app.client, ATTACKER, nurse.username, nurse.password).status_code == (
        403
    )
    assert from_address(node_app.client, OWNER, nurse.username, nurse.password).status_code == 200
    # and the owner's success does not let the outsider in again
    assert from_address(node_app.client, ATTACKER, nurse.username, nurse.password).status_code == (
        403
    )


def test_each_failure_after_the_wait_doubles_it(
    node_app: NodeApp, clock: Callable[[dt.timedelta], None]
) -> None:
    clerk = node_app.user("clerk")
    for n in range(5):
        from_address(node_app.client, ATTACKER, clerk.username, f"Wrong-{n}-password")
    waits = []
    for minutes in (15, 30, 60, 120):
        clock(dt.timedelta(minutes=minutes, seconds=1))  # just past the wait
        again = from_address(node_app.client, ATTACKER, clerk.username, "Wrong-again-1")
        assert again.status_code == 403
        waits.append(again.get_json()["error"])
    assert waits == [
        f"Too many failed logins from this address. Try again in {wait}."
        for wait in ("30 minutes", "60 minutes", "2 hours", "4 hours")
    ]
    # the owner, from their own address, is never held back by any of it
    assert from_address(node_app.client, OWNER, clerk.username, clerk.password).status_code == 200


def test_unknown_names_are_held_back_like_real_ones(
    edge_client: Any, edge_user: Callable[..., Staff]
) -> None:
    """Same answers, same waits: the lockout does not tell which names are accounts."""
    nurse = edge_user("nurse")
    ghost = [login(edge_client, "ghost", f"Wrong-password-{n}") for n in range(6)]
    real = [login(edge_client, nurse.username, f"Wrong-password-{n}") for n in range(6)]
    assert [a.status_code for a in ghost] == [401, 401, 401, 401, 403, 403]
    assert [a.get_json() for a in ghost] == [a.get_json() for a in real]


def test_behind_a_load_balancer_the_hub_counts_the_forwarded_client(
    hub_database_url: str, hub_engine: Engine, tmp_path: Path, hub_user: Callable[..., Staff]
) -> None:
    from hub import create_app

    clerk = hub_user("clerk")
    client = create_app(hub_config(hub_database_url, tmp_path, PROXY_COUNT=1)).test_client()

    def via_balancer(client_addr: str, password: str) -> int:
        body = {"username": clerk.username, "password": password}
        forwarded = {"X-Forwarded-For": client_addr}
        balancer = {"REMOTE_ADDR": "10.1.0.2"}
        response = client.post(
            "/api/auth/login", json=body, headers=forwarded, environ_base=balancer
        )
        return response.status_code

    assert [via_balancer(ATTACKER, f"Wrong-{n}-password") for n in range(5)][-1] == 403
    assert via_balancer(ATTACKER, clerk.password) == 403
    assert via_balancer(OWNER, clerk.password) == 200


def test_an_ipv6_client_is_counted_by_its_network(node_app: NodeApp) -> None:
    """A subscriber holds a whole /64: a new address in it is the same client."""
    clerk = node_app.user("clerk")
    for n in range(5):
        address = f"2001:db8:1:2::{n + 1:x}"
        from_address(node_app.client, address, clerk.username, f"Wrong-{n}-password")
    held = from_address(node_app.client, "2001:db8:1:2::ff", clerk.username, clerk.password)
    assert held.status_code == 403
    other = from_address(node_app.client, "2001:db8:1:3::1", clerk.username, clerk.password)
    assert other.status_code == 200


def test_a_success_resets_the_failure_count(
    edge_client: Any, edge_user: Callable[..., Staff]
) -> None:
    nurse = edge_user("nurse")
    for _ in range(4):
        login(edge_client, nurse.username, "Wrong-password-1")
    assert login(edge_client, nurse.username, nurse.password).status_code == 200
    for _ in range(4):
        assert login(edge_client, nurse.username, "Wrong-password-1").status_code == 401


def test_a_count_left_quiet_for_a_day_starts_again(
    edge_client: Any, edge_user: Callable[..., Staff], clock: Callable[[dt.timedelta], None]
) -> None:
    nurse = edge_user("nurse")
    for _ in range(4):
        login(edge_client, nurse.username, "Wrong-password-1")
    clock(dt.timedelta(hours=24))
    for _ in range(4):  # four more: a fifth in a row would hold the address back
        assert login(edge_client, nurse.username, "Wrong-password-1").status_code == 401


def test_a_deactivated_user_cannot_log_in(node_app: NodeApp) -> None:
    viewer = node_app.user("viewer", active=False)
    response = login(node_app.client, viewer.username, viewer.password)
    assert response.status_code == 403
    assert response.get_json()["error"] == service.DEACTIVATED
    assert actions(node_app.engine)[-1] == ("login_refused", "denied", viewer.id)


def test_a_user_of_another_vehicle_is_refused(
    edge_client: Any, edge_engine: Engine, edge_user: Callable[..., Staff]
) -> None:
    other = make_vehicle(edge_engine)
    stranger = edge_user("doctor", assigned=False, vehicle_ids=[other], made_on=HUB_NODE_ID)
    response = login(edge_client, stranger.username, stranger.password)
    assert response.status_code == 403
    assert response.get_json()["error"] == service.NOT_ASSIGNED
    assert actions(edge_engine) == [("login_refused", "denied", stranger.id)]


def test_an_edge_without_a_vehicle_says_it_is_not_enrolled(
    edge_app: Any, edge_engine: Engine
) -> None:
    from tests.support.identity import make_staff

    admin = make_staff(edge_app, edge_engine, "administrator")
    response = login(edge_app.test_client(), admin.username, admin.password)
    assert response.status_code == 403
    assert "not enrolled to a vehicle yet" in response.get_json()["error"]


def test_the_hub_needs_no_vehicle(hub_client: Any, hub_user: Callable[..., Staff]) -> None:
    finance = hub_user("finance")
    assert login(hub_client, finance.username, finance.password).status_code == 200


def test_login_is_rate_limited_by_client_address(
    edge_db: Path, edge_key: bytes, edge_user: Callable[..., Staff]
) -> None:
    from edge import create_app

    nurse = edge_user("nurse")
    client = create_app(
        edge_config(edge_db, edge_key, LOGIN_RATE_LIMIT="3 per minute")
    ).test_client()
    for _ in range(3):
        assert login(client, nurse.username, "Wrong-password-1").status_code == 401
    limited = login(client, nurse.username, nurse.password)
    assert limited.status_code == 429
    assert limited.get_json() == {"success": False, "error": "Too many requests; try again later"}
    other = client.post(
        "/api/auth/login",
        json={"username": nurse.username, "password": nurse.password},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 200  # another tablet is not held back


def test_the_login_form_and_the_api_share_one_rate_limit(
    edge_db: Path, edge_key: bytes, edge_user: Callable[..., Staff]
) -> None:
    from edge import create_app

    nurse = edge_user("nurse")
    client = create_app(
        edge_config(edge_db, edge_key, LOGIN_RATE_LIMIT="4 per minute")
    ).test_client()
    form = {"username": nurse.username, "password": "Wrong-password-1"}
    assert login(client, nurse.username, "Wrong-password-1").status_code == 401
    assert client.post("/login", data=form).status_code == 401
    assert login(client, nurse.username, "Wrong-password-1").status_code == 401
    assert client.post("/login", data=form).status_code == 401
    assert client.post("/login", data=form).status_code == 429
    assert login(client, nurse.username, nurse.password).status_code == 429


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "Invalid input"),
        ({"username": "someone"}, "Invalid input"),
        ({"username": 5, "password": ["x"]}, "Invalid input"),
        ({"username": "a", "password": "b", "admin": True}, "Invalid input"),
        ({"username": "a" * 65, "password": "b"}, "Invalid input"),
        ({"username": "a", "password": "b" * 1025}, "Invalid input"),
        ({"username": "a", "password": "b", "totp": "12ab56"}, "Invalid input"),
        ("not an object", "Invalid input"),
    ],
)
def test_bad_login_input_is_400_and_changes_nothing(
    edge_client: Any, edge_engine: Engine, edge_vehicle: str, body: Any, error: str
) -> None:
    before = row_counts(edge_engine)
    response = edge_client.post("/api/auth/login", json=body)
    assert response.status_code == 400
    assert response.get_json()["success"] is False and response.get_json()["error"] == error
    assert row_counts(edge_engine) == before


def test_a_huge_login_body_is_413_and_changes_nothing(
    edge_client: Any, edge_engine: Engine
) -> None:
    before = row_counts(edge_engine)
    huge = '{"username": "' + "a" * (11 * 1024 * 1024) + '"}'
    response = edge_client.post("/api/auth/login", data=huge, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["success"] is False
    assert row_counts(edge_engine) == before


def test_a_malformed_rate_limit_is_a_clear_configuration_error(
    edge_db: Path, edge_key: bytes
) -> None:
    from common.config import ConfigError
    from edge import create_app

    with pytest.raises(ConfigError, match="LOGIN_RATE_LIMIT must look like"):
        create_app(edge_config(edge_db, edge_key, LOGIN_RATE_LIMIT="lots"))


class PasswordCheck:
    """The real password check, noting whether the edge's write gate was held during it
    and doing `meanwhile` (another request's change) during the first."""

    def __init__(self, gate: WriteGate, meanwhile: Callable[[], None] | None = None) -> None:
        self.gate, self.meanwhile, self.gate_held = gate, meanwhile, []

    def __call__(self, password_hash: str | None, password: str) -> bool:
        self.gate_held.append(self.gate.held)
        if self.meanwhile is not None:
            self.meanwhile()
            self.meanwhile = None
        return verify_password(password_hash, password)


def edge_password_check(
    edge_app: Flask, monkeypatch: pytest.MonkeyPatch, meanwhile: Callable[[], None] | None = None
) -> PasswordCheck:
    with edge_app.app_context():
        gate = gate_of(db.engine)
    assert gate is not None
    check = PasswordCheck(gate, meanwhile)
    monkeypatch.setattr(service, "verify_password", check)
    return check


def hashing_gate(monkeypatch: pytest.MonkeyPatch, check: PasswordCheck) -> list[bool]:
    """Whether the write gate was held at each new hash the login service made."""
    held: list[bool] = []

    def spy_hash(password: str) -> str:
        held.append(check.gate.held)
        return hash_password(password)

    monkeypatch.setattr(service, "hash_password", spy_hash)
    return held


def test_a_login_checks_the_password_without_holding_the_edge_write_lock(
    edge_app: Flask, edge_user: Callable[..., Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check costs some 100 ms on purpose; every tablet's writes and audited reads
    would wait for it if the login's write transaction were open meanwhile."""
    nurse = edge_user("nurse")
    check = edge_password_check(edge_app, monkeypatch)
    client = edge_app.test_client()
    assert login(client, nurse.username, nurse.password).status_code == 200
    assert login(client, nurse.username, "Wrong-password-1").status_code == 401
    assert check.gate_held == [False, False]


def test_a_login_renews_an_old_hash_without_holding_the_edge_write_lock(
    edge_app: Flask,
    edge_engine: Engine,
    edge_user: Callable[..., Staff],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the Argon2 parameters are raised, each user's next login hashes the
    password anew, which costs as much as the check: between transactions too."""
    nurse = edge_user("nurse")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(nurse.password)
    with write_intent(), new_session(edge_engine) as session, session.begin():
        session.get_one(User, nurse.id).password_hash = weak
    check = edge_password_check(edge_app, monkeypatch)
    hashed_with_gate = hashing_gate(monkeypatch, check)
    assert login(edge_app.test_client(), nurse.username, nurse.password).status_code == 200
    with new_session(edge_engine) as session:
        renewed = session.get_one(User, nurse.id).password_hash
    assert renewed != weak and not needs_rehash(renewed)
    assert verify_password(renewed, nurse.password)
    assert (check.gate_held, hashed_with_gate) == ([False], [False])


def change_password(engine: Engine, user_id: str) -> None:
    """As an administrator's reset would."""
    with write_intent(), new_session(engine) as session, session.begin():
        session.get_one(User, user_id).password_hash = hash_password("N3w-passw0rd!")


def lock_account(engine: Engine, user_id: str) -> None:
    """As a fifth failure from the same address in another request would."""
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)
    with write_intent(), new_session(engine) as session, session.begin():
        state = LoginState(user_id=user_id, client_addr="127.0.0.1", failed_count=5)
        state.locked_until = until
        session.add(state)


@pytest.mark.parametrize(
    ("meanwhile", "status", "action", "gate_held"),
    [
        (change_password, 401, "login_failed", [False, True]),  # the new hash, checked again
        (lock_account, 403, "login_locked", [False]),
    ],
    ids=["password changed", "account locked"],
)
def test_what_changes_during_the_password_check_is_not_let_through(
    edge_app: Flask,
    edge_engine: Engine,
    edge_user: Callable[..., Staff],
    monkeypatch: pytest.MonkeyPatch,
    meanwhile: Callable[[Engine, str], None],
    status: int,
    action: str,
    gate_held: list[bool],
) -> None:
    nurse = edge_user("nurse")
    check = edge_password_check(edge_app, monkeypatch, lambda: meanwhile(edge_engine, nurse.id))
    response = login(edge_app.test_client(), nurse.username, nurse.password)
    assert response.status_code == status, response.get_json()
    assert check.gate_held == gate_held
    assert [recorded for recorded, _outcome, _user in actions(edge_engine)][-1] == action


def test_a_password_change_hashes_without_holding_the_edge_write_lock(
    edge_app: Flask, edge_user: Callable[..., Staff], monkeypatch: pytest.MonkeyPatch
) -> None:
    nurse = edge_user("nurse")
    check = edge_password_check(edge_app, monkeypatch)
    hashed_with_gate = hashing_gate(monkeypatch, check)
    body = {"current_password": nurse.password, "new_password": "Nurse-New-Pass-4"}
    client = edge_app.test_client()
    response = client.post("/api/auth/password", json=body, headers=nurse.headers)
    assert response.status_code == 200, response.get_json()
    assert (check.gate_held, hashed_with_gate) == ([False], [False])
    assert login(client, nurse.username, "Nurse-New-Pass-4").status_code == 200


def test_a_password_reset_during_a_change_is_not_overwritten(
    edge_app: Flask,
    edge_engine: Engine,
    edge_user: Callable[..., Staff],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nurse = edge_user("nurse")
    edge_password_check(edge_app, monkeypatch, lambda: change_password(edge_engine, nurse.id))
    body = {"current_password": nurse.password, "new_password": "Nurse-New-Pass-4"}
    client = edge_app.test_client()
    response = client.post("/api/auth/password", json=body, headers=nurse.headers)
    assert response.status_code == 400
    assert response.get_json()["details"] == {"current_password": ["Wrong password"]}
    assert login(client, nurse.username, "N3w-passw0rd!").status_code == 200  # the reset's
