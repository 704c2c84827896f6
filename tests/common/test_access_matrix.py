"""Every registered route of both apps, called without credentials and as every role.

Without credentials an API route answers 401 and a page sends the browser to the login
page; with a role the matrix denies it is 403; with a role it allows, neither (and never
a 5xx, though the call has no body and names an id that does not exist). Every refusal
leaves an audit record. Routes are found by walking the url_map, so a route
added later is covered (or fails this test) without anyone listing it here.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from common.permission import Role, permits
from schema.models import AuditRecord
from tests.support.apps import Route, routes
from tests.support.identity import NodeApp, bearer

ANONYMOUS = "anonymous"


def denials(engine: Engine) -> int:
    with engine.connect() as connection:
        query = select(func.count()).where(AuditRecord.action == "access_denied")
        return connection.scalar(query) or 0


def expectation(route: Route, role: str) -> str:
    assert route.spec is not None
    if route.spec.device:  # no person's credential passes a device's signature check
        return "unauthenticated"
    if route.spec.public:
        return "allowed"
    if role == ANONYMOUS:
        return "login" if route.spec.page else "unauthenticated"
    return "allowed" if permits(role, route.spec.permission or "") else "forbidden"


def outcome(response: Any) -> str:
    if response.status_code == 302 and response.location.startswith("/login?next="):
        return "login"
    if response.status_code == 401:
        return "unauthenticated"
    if response.status_code == 403:
        return "forbidden"
    return "allowed"


@pytest.mark.parametrize("role", [ANONYMOUS, *(role.value for role in Role)])
def test_every_route_answers_as_the_matrix_says(node_app: NodeApp, role: str) -> None:
    staff = None if role == ANONYMOUS else node_app.user(role)
    wrong: list[str] = []
    checked = 0
    for route in routes(node_app.app):
        if route.spec is None:
            wrong.append(f"{route.method} {route.rule}: no access declaration")
            continue
        # A fresh token per call: the logout routes revoke the one they are given.
        headers = bearer(node_app.app, staff.id) if staff else {}
        headers["Accept"] = "application/json"
        before = denials(node_app.engine)
        response = node_app.client.open(route.url(), method=route.method, headers=headers)
        response.close()  # ends a streamed response's request, as a server would
        expected, got = expectation(route, role), outcome(response)
        recorded = denials(node_app.engine) - before
        if response.status_code >= 500:  # e.g. no body or an unknown id: must be a 4xx
            wrong.append(f"{route.method} {route.rule}: answered {response.status_code}")
        elif got != expected:
            wrong.append(f"{route.method} {route.rule}: expected {expected}, got {got}")
        elif expected != "allowed" and recorded != 1:
            wrong.append(f"{route.method} {route.rule}: {expected} left {recorded} audit records")
        checked += 1
    assert wrong == []
    assert checked >= 15  # the walk really found the routes


def test_refusals_use_the_envelope(node_app: NodeApp) -> None:
    viewer = node_app.user("viewer")
    anonymous = node_app.client.get("/api/users")
    forbidden = node_app.client.get("/api/users", headers=viewer.headers)
    assert anonymous.status_code == 401 and forbidden.status_code == 403
    assert anonymous.get_json() == {"success": False, "error": "Authentication required"}
    assert forbidden.get_json() == {"success": False, "error": "Your role does not allow this"}


def test_a_denial_is_recorded_with_who_what_and_where(node_app: NodeApp) -> None:
    clerk = node_app.user("clerk")
    headers = {**clerk.headers, "User-Agent": "tablet-7"}
    assert node_app.client.post("/api/users", json={}, headers=headers).status_code == 403
    with node_app.engine.connect() as connection:
        record = connection.execute(
            select(AuditRecord).where(AuditRecord.action == "access_denied")
        ).one()
    assert (record.user_id, record.username, record.role) == (clerk.id, clerk.username, "clerk")
    assert record.outcome == "denied" and record.user_agent == "tablet-7"
    assert record.client_addr == "127.0.0.1"
    assert record.detail == {
        "permission": "users:manage",
        "reason": "forbidden",
        "method": "POST",
        "path": "/api/users",
    }
