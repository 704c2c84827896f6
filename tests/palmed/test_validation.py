"""Bad input gets a clear 4xx in the envelope and changes nothing. Nothing here stores
anything, so one sandbox serves the module and each test checks it is still empty."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.palmed.conftest import ACTIVE, started
from tests.support.palmed import Sandbox, claim_request

GOOD = claim_request(*ACTIVE).to_json()
LINE = GOOD["lines"][0]
KEY = {"Idempotency-Key": "key-validation-01"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with started(tmp_path_factory.mktemp("validation")) as running:
        yield running


def refused(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error"]
    return body


def without(name: str) -> dict[str, Any]:
    return {key: value for key, value in GOOD.items() if key != name}


def with_line(**line: Any) -> dict[str, Any]:
    return {**GOOD, "lines": [line]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (without("member_number"), "member_number"),
        (without("service_date"), "service_date"),
        (without("lines"), "lines"),
        ({**GOOD, "lines": []}, "lines"),
        ({**GOOD, "dependant_code": "0"}, "dependant_code"),
        ({**GOOD, "practice_number": "12345"}, "practice_number"),
        ({**GOOD, "service_date": "2025-13-01"}, "service_date"),
        ({**GOOD, "icd10_codes": ["J06 9"]}, "icd10_codes"),
        ({**GOOD, "icd10_codes": "J06.9"}, "icd10_codes"),
        ({**GOOD, "surprise": True}, "surprise"),
        (with_line(**LINE, nappi_code="7010017"), "lines"),  # both codes
        (with_line(quantity=1, amount="10.00"), "lines"),  # neither code
        (with_line(**{**LINE, "amount": "-1.00"}), "lines"),
        (with_line(**{**LINE, "amount": "10.005"}), "lines"),
        (with_line(**{**LINE, "amount": "NaN"}), "lines"),
        (with_line(**{**LINE, "quantity": 0}), "lines"),
        (with_line(**{**LINE, "quantity": "2"}), "lines"),
    ],
)
def test_a_bad_claim_body_is_refused_and_not_stored(
    sandbox: Sandbox, body: dict[str, Any], field: str
) -> None:
    answer = refused(sandbox.request("POST", "/v1/claims", json=body, headers=KEY))
    assert field in answer["details"]
    assert sandbox.claims() == []


@pytest.mark.parametrize(
    "headers",
    [{}, {"Idempotency-Key": "short"}, {"Idempotency-Key": "has spaces in it"}],
    ids=["missing", "too short", "bad characters"],
)
def test_a_claim_needs_a_good_idempotency_key(sandbox: Sandbox, headers: dict[str, str]) -> None:
    answer = refused(sandbox.request("POST", "/v1/claims", json=GOOD, headers=headers))
    assert "Idempotency-Key" in answer["details"]
    assert sandbox.claims() == []


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ({"data": "{not json", "headers": {**KEY, "Content-Type": "application/json"}}, 400),
        ({"data": "member_number=1", "headers": {**KEY, "Content-Type": "text/plain"}}, 400),
        ({"json": [GOOD], "headers": KEY}, 400),
        ({"json": {**GOOD, "reference": "x" * (1024 * 1024)}, "headers": KEY}, 413),
    ],
    ids=["broken JSON", "not JSON", "a list", "too large"],
)
def test_a_body_that_is_not_a_claim_is_refused(
    sandbox: Sandbox, options: dict[str, Any], status: int
) -> None:
    refused(sandbox.request("POST", "/v1/claims", **options), status)
    assert sandbox.claims() == []


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/members/{ACTIVE[0]}/{ACTIVE[1]}?on=yesterday",
        f"/v1/members/{ACTIVE[0]}/0",
        "/v1/members/not%20a%20number/00",
        "/v1/member-changes?since=abc",
        "/v1/member-changes?limit=0",
        "/v1/member-changes?limit=100000",
    ],
)
def test_bad_lookups_are_refused(sandbox: Sandbox, path: str) -> None:
    refused(sandbox.request("GET", path))


@pytest.mark.parametrize(
    "body",
    [{"status": "asleep"}, {"status": "suspended", "effective_date": "soon"}, {}],
)
def test_a_bad_status_change_is_refused_and_not_in_the_feed(
    sandbox: Sandbox, body: dict[str, Any]
) -> None:
    before = sandbox.request("GET", "/v1/member-changes?limit=500").json()["data"]["next_cursor"]
    path = f"/admin/members/{ACTIVE[0]}/{ACTIVE[1]}/status"
    refused(sandbox.request("POST", path, key=sandbox.admin_key, json=body))
    after = sandbox.request("GET", f"/v1/member-changes?since={before}").json()["data"]
    assert after["changes"] == []


@pytest.mark.parametrize(
    "rule",
    [
        {"kind": "explode"},
        {"kind": "error", "every": 2, "rate": 0.5},
        {"kind": "delay"},
        {"kind": "error", "status": 404},
        {"kind": "drop", "seconds": 1},
        {"kind": "error", "path": "/admin/faults"},
        {"kind": "error", "when": "during"},
    ],
)
def test_a_bad_fault_plan_is_refused_and_the_old_one_stays(
    sandbox: Sandbox, rule: dict[str, Any]
) -> None:
    sandbox.set_faults({"kind": "delay", "seconds": 0, "path": "/v1/never"})
    response = sandbox.request(
        "PUT", "/admin/faults", key=sandbox.admin_key, json={"rules": [rule]}
    )
    refused(response)
    assert [kept["path"] for kept in sandbox.admin("GET", "/faults")["rules"]] == ["/v1/never"]


def test_a_bad_pay_run_date_is_refused(sandbox: Sandbox) -> None:
    response = sandbox.request(
        "POST", "/admin/pay-run", key=sandbox.admin_key, json={"paid_date": "tomorrow"}
    )
    assert "paid_date" in refused(response)["details"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v1/nothing-here", 404), ("GET", "/", 404), ("DELETE", "/v1/claims", 405)],
)
def test_unknown_routes_and_methods_answer_in_the_envelope(
    sandbox: Sandbox, method: str, path: str, status: int
) -> None:
    response = sandbox.request(method, path, headers={"Accept": "text/html"})
    refused(response, status)
    if status == 405:
        assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_an_unknown_claim_is_not_found(sandbox: Sandbox) -> None:
    refused(sandbox.request("GET", "/v1/claims/PLM0000000000"), 404)
