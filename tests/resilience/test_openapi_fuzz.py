"""schemathesis against `/api/openapi.json` on the edge and at the hub: every documented
operation, called as an administrator with generated (mostly invalid) parameters and
bodies, answers below 500 (`not_a_server_error`), and a refused call leaves the database
digest unchanged. `--runs N` multiplies the examples per operation."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import Engine

from tests.resilience.test_fuzz import NOT_DATA
from tests.support.clinic import Clinic
from tests.support.identity import Staff
from tests.support.tables import digest, moved

EXAMPLES = 3
# Calls that end the caller's own credential would only make every later call a 401.
SPARED = ("/api/auth/logout", "/api/auth/password", "/api/auth/refresh")


def fuzz_operations(app: Flask, engine: Engine, staff: Staff, runs: int) -> int:
    """Run every operation's generated cases; returns how many operations were called."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    called = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(SPARED):
            continue

        @settings(
            max_examples=EXAMPLES * runs,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            before = digest(engine, NOT_DATA)
            response = case.call_and_validate(headers=staff.headers, checks=[not_a_server_error])
            if response.status_code >= 400:
                assert moved(before, digest(engine, NOT_DATA)) == [], f"{case.method} {case.path}"

        check()
        called += 1
    return called


def test_the_edge_api_never_answers_a_server_error(clinic: Clinic, runs: int) -> None:
    clinic.register()  # something to find
    called = fuzz_operations(clinic.app, clinic.engine, clinic.staff("administrator"), runs)
    assert called > 50


def test_the_hub_api_never_answers_a_server_error(
    hub_app: Flask, hub_engine: Engine, hub_user: Any, runs: int
) -> None:
    called = fuzz_operations(hub_app, hub_engine, hub_user("administrator"), runs)
    assert called > 50
