"""Zero cross-vehicle reads or writes on the edge: every route × every role × {this
vehicle's record, another vehicle's record, a missing id}.

The edge database holds a clinic day of its own vehicle and a copy on another vehicle
(tests/security/world.py), as sync or a restored backup could leave it. Routes are found
by walking the url_map: a route that names records, in its path or in `*_id` fields of
its body, is called by every role the matrix allows with each record in turn taken from
the other vehicle (the rest this vehicle's own), and with a missing id in its place; both
must answer the same refusal (404, or a 400/403 that does not depend on the record) and
write nothing (no change captured in the change log but the refusal's audit record). As
the administrator, the route with this vehicle's own records must find them (not a 404),
so the ids are real. Every GET route
without a record (lists, pages) is read by every allowed role, and no response anywhere
carries an id of the other vehicle's rows or its patient's name or ID number.

A new route that names a record and takes a body needs a body in BODIES below: the test
fails until it has one, so nothing new slips past the matrix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from marshmallow import Schema, fields
from sqlalchemy import Engine, func, select

from common.permission import Role, permits
from schema.models import SyncChange
from tests.edge.test_prescriptions import prescription
from tests.security.world import World, build
from tests.support.apps import MISSING_ID, Route, routes
from tests.support.clinic import Clinic

Ids = Mapping[str, str]
Body = Callable[[Ids], dict[str, Any]]

BODIES: dict[str, Body] = {
    "PUT /api/users/<user_id>": lambda ids: {"full_name": "Renamed Person"},
    "POST /api/users/<user_id>/vehicles": lambda ids: {"vehicle_id": ids["vehicle"]},
    "PUT /api/patients/<patient_id>": lambda ids: {"address": "1 Changed Rd"},
    "POST /api/visits": lambda ids: {
        "patient_id": ids["patient"],
        "appointment_id": ids["appointment"],
    },
    "PUT /api/visits/<visit_id>": lambda ids: {"summary": "changed"},
    "POST /api/visits/<visit_id>/back": lambda ids: {"reason": "recorded in error"},
    "POST /api/visits/<visit_id>/reopen": lambda ids: {"reason": "recorded in error"},
    "POST /api/vital-signs": lambda ids: {"visit_id": ids["visit"], "pulse": 80},
    "POST /api/clinical-notes": lambda ids: {"visit_id": ids["visit"], "body": "Seen"},
    "POST /api/diagnoses": lambda ids: {"visit_id": ids["visit"], "icd10_code": "J06.9"},
    "POST /api/prescriptions": lambda ids: prescription(ids["visit"]),
    "POST /api/referrals": lambda ids: {
        "visit_id": ids["visit"],
        "kind": "external",
        "facility": "Mankweng",
        "reason": "X-ray",
        "urgency": "routine",
    },
    "POST /api/referrals/<referral_id>/status": lambda ids: {"status": "sent"},
    "POST /api/appointments": lambda ids: {
        "slot_id": ids["appointment_slot"],
        "patient_id": ids["patient"],
    },
    "POST /api/appointments/<appointment_id>/status": lambda ids: {
        "status": "cancelled",
        "reason": "travelling",
    },
    "POST /api/appointments/<appointment_id>/reschedule": lambda ids: {
        "slot_id": ids["appointment_slot"]
    },
    "POST /api/assets/<asset_id>/status": lambda ids: {"status": "needs_repair"},
    "POST /api/assets/<asset_id>/maintenance": lambda ids: {"kind": "service"},
    "POST /api/inventory/usage": lambda ids: {"lot_id": ids["lot"], "quantity": 1},
    "POST /api/inventory/movements": lambda ids: {
        "lot_id": ids["lot"],
        "kind": "adjustment",
        "quantity": -1,
        "reason": "recount",
    },
    "POST /api/inventory/stocktake": lambda ids: {
        "counts": [{"lot_id": ids["lot"], "counted": 1, "reason": "recount"}]
    },
}

# List routes that need a query to answer at all.
QUERIES = {"/api/icd10": "?q=hypertension", "/api/appointments/availability": "?date=2026-12-02"}

_PARAMETER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


class Missing(dict[str, str]):
    """Ids of records that exist nowhere."""

    def __missing__(self, key: str) -> str:
        return MISSING_ID


def record_of(name: str, world: World) -> str | None:
    """The record a path parameter or body field names: `visit_id` is a visit,
    `slot_id` an appointment slot, `request_id` a supply request."""
    if not name.endswith("_id"):
        return None
    stem = name.removesuffix("_id")
    if stem in world.own:
        return stem
    matches = [key for key in world.own if key.endswith("_" + stem)]
    return matches[0] if len(matches) == 1 else None


def body_fields(schema: Schema) -> Iterator[str]:
    for name, field in schema.fields.items():
        yield name
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from body_fields(inner.schema)


def named_records(route: Route, world: World) -> set[str]:
    assert route.spec is not None
    names = set(_PARAMETER.findall(route.rule))
    if route.spec.body is not None:
        names |= set(body_fields(route.spec.body()))
    return {record for name in names if (record := record_of(name, world))}


def keys_of(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        for key, value in body.items():
            yield key
            yield from keys_of(value)
    elif isinstance(body, list):
        for value in body:
            yield from keys_of(value)


def unfilled_records(route: Route, world: World) -> set[str]:
    """Records the route's body can name that its entry in BODIES leaves out."""
    assert route.spec is not None
    if route.spec.body is None:
        return set()
    key = f"{route.method} {route.rule}"
    if key not in BODIES:
        return {"a body"} if not route.spec.body_optional else set()
    named = {record_of(name, world) for name in body_fields(route.spec.body())}
    given = {record_of(name, world) for name in keys_of(BODIES[key](world.own))}
    return {record for record in named - given if record}


def url_for(route: Route, ids: Ids, world: World) -> str:
    def fill(match: re.Match[str]) -> str:
        record = record_of(match.group(1), world)
        assert record, f"{route.rule}: no record for <{match.group(1)}>"
        return ids[record]

    return _PARAMETER.sub(fill, route.rule)


def captured_changes(engine: Engine) -> int:
    """Writes to synced tables, but for audit records (refusals are audited)."""
    query = select(func.count()).where(SyncChange.table_name != "audit_record")
    with engine.connect() as connection:
        return connection.scalar(query) or 0


class Caller:
    def __init__(self, clinic: Clinic, world: World) -> None:
        self.clinic, self.world = clinic, world
        self.wrong: list[str] = []

    def call(self, route: Route, role: str, ids: Ids) -> Any:
        key = f"{route.method} {route.rule}"
        body = BODIES[key](ids) if key in BODIES else None
        headers = {**self.clinic.staff(role).headers, "Accept": "application/json"}
        url = url_for(route, ids, self.world) + QUERIES.get(route.rule, "")
        response = self.clinic.client.open(url, method=route.method, headers=headers, json=body)
        text = response.get_data(as_text=True)
        requested = set(ids.values())
        leaked = [v for v in self.world.other_ids - requested if v in text]
        leaked += [secret for secret in self.world.other_secrets if secret in text]
        if leaked:
            self.wrong.append(f"{key} as {role}: response shows the other vehicle's {leaked}")
        return response

    def refused(self, route: Route, role: str, record: str) -> None:
        """`record` of the other vehicle (the route's other records this vehicle's own)
        gets the same refusal as a missing id, and nothing is written."""
        answers = []
        for side, ids in (("another vehicle's", self.world.other), ("a missing", Missing())):
            before = captured_changes(self.clinic.engine)
            response = self.call(route, role, {**self.world.own, record: ids[record]})
            error = str((response.get_json() or {}).get("error")).replace(ids[record], "<id>")
            answers.append((response.status_code, error))
            key = f"{route.method} {route.rule} as {role} with {side} {record}"
            if response.status_code not in (400, 403, 404):
                self.wrong.append(f"{key}: {response.status_code} {response.get_json()}")
            if captured_changes(self.clinic.engine) != before:
                self.wrong.append(f"{key}: wrote to the database")
        if answers[0] != answers[1]:
            self.wrong.append(f"{route.rule} as {role}: {record} is told apart: {answers}")


@pytest.fixture
def matrix(clinic: Clinic) -> Caller:
    world = build(clinic)
    clinic.hire()
    return Caller(clinic, world)


def allowed_roles(route: Route) -> list[str]:
    assert route.spec is not None and route.spec.permission
    return [role.value for role in Role if permits(role.value, route.spec.permission)]


def person_routes(clinic: Clinic) -> list[Route]:
    return [
        route
        for route in routes(clinic.app)
        if route.spec is not None and not route.spec.public and not route.spec.device
    ]


def removes(route: Route) -> bool:
    return "deactivate" in route.rule or route.method == "DELETE"


def test_another_vehicles_records_are_as_absent_as_missing_ones(matrix: Caller) -> None:
    world, checked = matrix.world, 0
    record_routes = [r for r in person_routes(matrix.clinic) if named_records(r, world)]
    for route in record_routes:
        assert route.spec is not None
        key = f"{route.method} {route.rule}"
        unfilled = unfilled_records(route, world)
        if unfilled:
            matrix.wrong.append(f"{key}: give BODIES a body naming {sorted(unfilled)}")
            continue
        for role in allowed_roles(route):
            for record in sorted(named_records(route, world)):
                matrix.refused(route, role, record)
                checked += 1
    # Last, and deactivations at the very end: these succeed and change what they touch.
    for route in sorted(
        record_routes, key=lambda r: "deactivate" in r.rule or r.method == "DELETE"
    ):
        response = matrix.call(route, "administrator", world.own)
        if response.status_code == 404 or response.status_code >= 500:
            matrix.wrong.append(f"{route.method} {route.rule} own record: {response.status_code}")
    assert not matrix.wrong, "\n".join(matrix.wrong)
    assert len(record_routes) >= 40 and checked >= 140  # the walk found the routes


def test_lists_and_pages_never_show_another_vehicles_rows(matrix: Caller) -> None:
    world, checked = matrix.world, 0
    for route in person_routes(matrix.clinic):
        if route.method != "GET" or named_records(route, world):
            continue
        for role in allowed_roles(route):
            response = matrix.call(route, role, {})
            if response.status_code != 200:
                matrix.wrong.append(f"GET {route.rule} as {role}: {response.status_code}")
            checked += 1
    assert not matrix.wrong, "\n".join(matrix.wrong)
    assert checked >= 60
