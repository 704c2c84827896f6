"""Keys: the scheme API wants the API key, sandbox control wants the admin key.

A refused call changes nothing, so one sandbox serves the whole module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.claims.palmed import PalmedClient, RequestRefused
from tests.palmed.conftest import ACTIVE, started
from tests.support.palmed import Sandbox, claim_request

MEMBER = f"/v1/members/{ACTIVE[0]}/{ACTIVE[1]}"
SCHEME_ROUTES = [
    ("GET", MEMBER),
    ("GET", "/v1/member-changes"),
    ("POST", "/v1/claims"),
    ("GET", "/v1/claims/PLM0000000000"),
    ("GET", "/v1/claims/by-idempotency-key/key-anything-1"),
]
ADMIN_ROUTES = [
    ("GET", "/admin/claims"),
    ("POST", f"/admin/members/{ACTIVE[0]}/{ACTIVE[1]}/status"),
    ("POST", "/admin/pay-run"),
    ("GET", "/admin/faults"),
    ("PUT", "/admin/faults"),
    ("DELETE", "/admin/faults"),
]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with started(tmp_path_factory.mktemp("auth")) as running:
        yield running


@pytest.mark.parametrize(("method", "path"), SCHEME_ROUTES + ADMIN_ROUTES)
@pytest.mark.parametrize("key", ["", "not-the-right-key"], ids=["no key", "wrong key"])
def test_every_route_refuses_a_missing_or_wrong_key(
    sandbox: Sandbox, method: str, path: str, key: str
) -> None:
    response = sandbox.request(method, path, key=key, json={})
    assert response.status_code == 401
    assert response.json()["success"] is False
    assert "key" in response.json()["error"]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_the_scheme_key_cannot_steer_the_sandbox(sandbox: Sandbox, method: str, path: str) -> None:
    response = sandbox.request(
        method, path, json={"status": "suspended", "rules": [{"kind": "error"}]}
    )
    assert response.status_code == 403
    assert sandbox.admin("GET", "/faults")["rules"] == []
    assert sandbox.request("GET", MEMBER).json()["data"]["status"] == "active"


def test_the_admin_key_does_not_open_the_scheme_api(sandbox: Sandbox) -> None:
    assert sandbox.request("GET", MEMBER, key=sandbox.admin_key).status_code == 401


def test_a_bearer_token_works_like_the_header(sandbox: Sandbox) -> None:
    bearer = {"Authorization": f"Bearer {sandbox.api_key}"}
    assert sandbox.request("GET", MEMBER, key="", headers=bearer).status_code == 200
    wrong = {"Authorization": "Bearer not-the-right-key"}
    assert sandbox.request("GET", MEMBER, key="", headers=wrong).status_code == 401


def test_the_client_reports_a_refused_key_and_nothing_is_stored(sandbox: Sandbox) -> None:
    with (
        PalmedClient(sandbox.url, "not-the-right-key") as client,
        pytest.raises(RequestRefused) as refused,
    ):
        client.submit_claim(claim_request(*ACTIVE), "key-refused-0001")
    assert refused.value.status == 401
    assert sandbox.claims() == []


def test_health_needs_no_key(sandbox: Sandbox) -> None:
    body = sandbox.request("GET", "/health", key="").json()
    assert body["success"] is True
    assert body["data"]["status"] == "ok"
