"""Every hub route × every role × {a record of the caller's own vehicle, one of another}.

The hub holds the work of vehicles A and B (tests/security/hub_world.py); every user is
assigned to A. Routes are found by walking the url_map:

- a route that names records (in its path, or in `*_id` fields of its body) is called
  by every role with A's records and again with B's, each call on a record made for it
  in the state the route needs (FIELDS says which kind a name is, STATES which state).
  A role the matrix denies gets 403 and writes nothing; a fleet-wide role changes or
  reads both vehicles' records (2xx); a vehicle-scoped role gets 2xx on A's and, on
  B's, the very refusal a missing id gets (404, or 400 for a record named in a body)
  and writes nothing. The fleet's reference data (formulary, tariffs, locations,
  provinces) is no vehicle's: every role allowed gets 2xx on it.
- every other GET route (lists, exports, pages) is read by every role allowed, as it is
  and with a vehicle filter naming B: LISTS says which of A's records it shows. A
  fleet-wide role sees B's too; a vehicle-scoped one never sees anything of B's.

No response to a vehicle-scoped caller carries an id or a name of B's records. A route
that names a new kind of record, or takes a body the table lacks, or a list the table
does not know, fails the test until the table says what it is.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields
from sqlalchemy import Engine, func, select

from common.permission import Role, fleet_wide, permits
from schema.models import SyncChange
from tests.security.hub_world import MADE_WITH, SHARED, TOMORROW, Side, build
from tests.support.apps import MISSING_ID, Route, routes
from tests.support.identity import Staff, make_staff

Ids = Mapping[str, str]
Body = Callable[[Ids], dict[str, Any]]

# Which record a path parameter or body field names.
FIELDS = {
    "alert_id": "alert",
    "claim_id": "claim",
    "conflict_id": "conflict",
    "delivery_id": "delivery",
    "device_id": "device",
    "held_id": "quarantine",
    "invite_id": "invite",
    "item_id": "item",
    "location_id": "location",
    "loser_id": "twin",
    "pair_id": "pair",
    "province_id": "province",
    "request_id": "supply_request",
    "route_id": "route",
    "tariff_id": "tariff",
    "user_id": "user",
    "vehicle_id": "vehicle",
    "vehicle_ids": "vehicle",
    "winner_id": "patient",
}

_numbers = itertools.count(1)


def _n() -> int:
    return next(_numbers)


BODIES: dict[str, Body] = {
    "POST /api/routes": lambda ids: {
        "vehicle_id": ids["vehicle"],
        "route_date": TOMORROW.isoformat(),
        "name": f"Planned {_n()}",
        "stops": [
            {
                "location_id": ids["location"],
                "arrival_at": f"{TOMORROW.isoformat()}T08:00:00+00:00",
                "departure_at": f"{TOMORROW.isoformat()}T09:00:00+00:00",
                "slot_minutes": 30,
                "slot_capacity": 2,
            }
        ],
    },
    "PATCH /api/routes/<route_id>": lambda ids: {"name": f"Renamed {_n()}"},
    "POST /api/supply-requests/<request_id>/reject": lambda ids: {"reason": "Not needed"},
    "POST /api/supply-requests/<request_id>/deliveries": lambda ids: {
        "lines": [
            {
                "item_id": ids["item"],
                "batch_number": f"D{_n()}",
                "expiry_date": "2099-01-31",
                "quantity": 5,
            }
        ]
    },
    "POST /api/deliveries/<delivery_id>/status": lambda ids: {"status": "shipped"},
    "POST /api/sync/conflicts/<conflict_id>/resolve": lambda ids: {},
    "POST /api/patients/merge": lambda ids: {"winner_id": ids["patient"], "loser_id": ids["twin"]},
    "PUT /api/formulary/<item_id>": lambda ids: {"reorder_level": 12},
    "PUT /api/tariffs/<tariff_id>": lambda ids: {"description": "Consultation (GP)"},
    "PUT /api/locations/<location_id>": lambda ids: {"address": "2 Main Rd"},
    "POST /api/locations": lambda ids: {"province_id": ids["province"], "name": f"Stop {_n()}"},
    "POST /api/vehicles": lambda ids: {
        "name": f"Clinic {_n()}",
        "registration_plate": f"NEW {_n()} GP",
        "province_id": ids["province"],
        "practice_number": "0123456",
    },
    "PUT /api/vehicles/<vehicle_id>": lambda ids: {"practice_number": "0765432"},
    "PUT /api/users/<user_id>": lambda ids: {"full_name": "Renamed Person"},
    "POST /api/users/<user_id>/vehicles": lambda ids: {"vehicle_id": ids["vehicle"]},
    "POST /api/users": lambda ids: {
        "username": f"new.person{_n()}",
        "full_name": "New Person",
        "role": "nurse",
        "password": "Correct-Horse-9",
        "vehicle_ids": [ids["vehicle"]],
    },
    "POST /api/invites": lambda ids: {
        "username": f"invited{_n()}",
        "full_name": "Invited Person",
        "role": "nurse",
        "vehicle_ids": [ids["vehicle"]],
    },
}

# The state a route's fresh record must be in, where it is not the kind's first state.
STATES = {
    "POST /api/supply-requests/<request_id>/deliveries": {"supply_request": "approved"},
    "POST /api/sync/devices/<device_id>/enable": {"device": "revoked"},
}

# GET routes without a record: which of the caller's records each shows (None: figures,
# the fleet's reference data, or the caller's own account).
LISTS: dict[str, str | None] = {
    "/": "vehicle_name",
    "/api/alerts": "alert",
    "/api/audit": None,
    "/api/audit/export.csv": None,
    "/api/auth/me": None,
    "/api/auth/verify": None,
    "/api/claims": "claim",
    "/api/dashboard/stats": None,
    "/api/deliveries": "delivery",
    "/api/fleet": "vehicle",
    "/api/formulary": None,
    "/api/formulary/export.csv": None,
    "/api/health/detailed": None,
    "/api/invites": "invite",
    "/api/locations": None,
    "/api/patients/duplicates": "pair",
    "/api/provinces": None,
    "/api/reports/claims": None,
    "/api/reports/diagnoses": None,
    "/api/reports/stock-usage": "vehicle",
    "/api/reports/visits": "vehicle",
    "/api/routes": "route",
    "/api/routes/export.csv": "route_name",
    "/api/stock/fleet": "vehicle",
    "/api/supply-requests": "supply_request",
    "/api/sync/conflicts": "conflict",
    "/api/sync/devices": "device",
    "/api/sync/quarantine": "quarantine",
    "/api/sync/visits": "visit",
    "/api/tariffs": None,
    "/api/users": "user",
    "/api/vehicles": "vehicle",
    "/audit": None,
    "/claims": "claim",
    "/conflicts": "conflict",
    "/devices": "device",
    "/duplicates": "pair",
    "/formulary": None,
    "/password": None,
    "/people": "user",
    "/reports": "vehicle_name",
    "/routes": "route_name",
    "/stock": "vehicle_name",
    "/supply": "supply_request",
    "/vehicles": "vehicle_name",
}

# Pages read their filters from the query string without a schema: the vehicle filter
# each takes.
PAGE_FILTERS = {
    "/supply": "vehicle_id",
    "/reports": "vehicle_id",
    "/audit": "vehicle",
    "/claims": "vehicle_id",
}

_PARAMETER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


class Missing(dict[str, str]):
    """Ids of records that exist nowhere (the fleet's reference data stays real)."""

    def __init__(self, shared: Ids) -> None:
        super().__init__({kind: shared[kind] for kind in SHARED if kind in shared})

    def __missing__(self, key: str) -> str:
        return MISSING_ID


def named(name: str) -> str | None:
    if name.endswith(("_id", "_ids")):
        return FIELDS.get(name, "unknown")
    return None


def body_fields(schema: Schema) -> Iterator[str]:
    for name, field in schema.fields.items():
        yield name
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from body_fields(inner.schema)


def names_in(route: Route) -> set[str]:
    """Path parameters and body fields of the route that name a record."""
    assert route.spec is not None
    names = set(_PARAMETER.findall(route.rule))
    if route.spec.body is not None:
        names |= set(body_fields(route.spec.body()))
    return {name for name in names if named(name)}


def kinds_in(route: Route) -> set[str]:
    return {kind for name in names_in(route) if (kind := named(name))}


def key(route: Route) -> str:
    return f"{route.method} {route.rule}"


def changes(engine: Engine) -> int:
    """Writes to synced tables but audit records (refusals are audited)."""
    query = select(func.count()).where(SyncChange.table_name != "audit_record")
    with engine.connect() as connection:
        return connection.scalar(query) or 0


@dataclass
class Hub:
    app: Flask
    engine: Engine
    own: Side
    other: Side
    staff: dict[str, Staff]

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        self.wrong: list[str] = []

    def call(self, route: Route, role: str, ids: Ids, query: str = "") -> Any:
        body = BODIES[key(route)](ids) if key(route) in BODIES else None
        url = _PARAMETER.sub(lambda m: ids[FIELDS[m.group(1)]], route.rule) + query
        headers = {**self.staff[role].headers, "Accept": "application/json"}
        response = self.client.open(url, method=route.method, headers=headers, json=body)
        response.close()  # ends a streamed export's request, as a server would
        if not fleet_wide(role):
            self.leaks(f"{key(route)}{query} as {role}", response, set(ids.values()))
        return response

    def leaks(self, what: str, response: Any, asked: set[str]) -> None:
        text = response.get_data(as_text=True)
        found = sorted(t for t in self.other.texts - asked if t in text)
        if found:
            self.wrong.append(f"{what}: shows another vehicle's {found}")

    def fresh(self, side: Side, route: Route) -> dict[str, str]:
        """The side's ids, with a new record of each kind the route names (one made
        with another, as a pair's two patients, is made once)."""
        ids, states = dict(side.ids), STATES.get(key(route), {})
        for kind in sorted({MADE_WITH.get(k, k) for k in kinds_in(route)}):
            ids.update(side.fresh(kind, states.get(kind)))
        return ids


def answer(response: Any, ids: Ids) -> tuple[int, str]:
    error = str((response.get_json(silent=True) or {}).get("error"))
    for value in ids.values():
        error = error.replace(value, "<id>")
    return response.status_code, error


@pytest.fixture
def hub(hub_app: Flask, hub_engine: Engine) -> Hub:
    own, other = build(hub_engine)
    staff = {
        role.value: make_staff(hub_app, hub_engine, role.value, vehicle_ids=[own.vehicle_id])
        for role in Role
    }
    return Hub(hub_app, hub_engine, own, other, staff)


def person_routes(app: Flask) -> list[Route]:
    return [
        route
        for route in routes(app)
        if route.spec is not None and not route.spec.public and not route.spec.device
    ]


def untabled(route: Route) -> list[str]:
    """What the tables above lack for this route."""
    problems = [f"name the record of {n} in FIELDS" for n in names_in(route) if n not in FIELDS]
    assert route.spec is not None
    if route.spec.body is not None and not route.spec.body_optional and key(route) not in BODIES:
        problems.append("give BODIES a body")
    if key(route) in BODIES and route.spec.body is not None:
        given = {named(name) for name in keys_of(BODIES[key(route)](Missing({})))}
        wanted = {named(name) for name in body_fields(route.spec.body())}
        left_out = sorted(k for k in wanted - given if k and k not in SHARED)
        problems += [f"BODIES leaves out its {kind}" for kind in left_out]
    return problems


def keys_of(body: Any) -> Iterator[str]:
    if isinstance(body, dict):
        for name, value in body.items():
            yield name
            yield from keys_of(value)
    elif isinstance(body, list):
        for value in body:
            yield from keys_of(value)


def test_every_record_route_by_every_role_on_both_vehicles(hub: Hub) -> None:
    checked = 0
    record_routes = [r for r in person_routes(hub.app) if names_in(r)]
    for route in record_routes:
        assert route.spec is not None and route.spec.permission
        problems = untabled(route)
        if problems:
            hub.wrong.append(f"{key(route)}: {'; '.join(problems)}")
            continue
        shared_only = kinds_in(route) <= set(SHARED)
        for role in (role.value for role in Role):
            allowed = permits(role, route.spec.permission)
            for side in (hub.own, hub.other):
                ids = hub.fresh(side, route)
                before = changes(hub.engine)
                response = hub.call(route, role, ids)
                what = f"{key(route)} as {role} on {side.tag}'s records"
                sees = side is hub.own or fleet_wide(role) or shared_only
                if not allowed or not sees:
                    if changes(hub.engine) != before:
                        hub.wrong.append(f"{what}: wrote to the database")
                if not allowed:
                    if response.status_code != 403:
                        hub.wrong.append(f"{what}: {response.status_code}, not 403")
                elif sees:
                    if not 200 <= response.status_code < 300:
                        hub.wrong.append(f"{what}: {response.status_code} {response.get_json()}")
                else:
                    missing = Missing(side.shared)
                    absent = hub.call(route, role, missing)
                    got, expected = answer(response, ids), answer(absent, missing)
                    if got != expected or got[0] not in (400, 404):
                        hub.wrong.append(f"{what}: {got}, a missing record gets {expected}")
                checked += 1
    assert not hub.wrong, "\n".join(hub.wrong)
    assert len(record_routes) >= 30 and checked >= 800  # the walk found the routes


def vehicle_filter(route: Route) -> str | None:
    assert route.spec is not None
    if route.spec.query is not None:
        found = set(route.spec.query().fields) & {"vehicle_id", "vehicle"}
        return found.pop() if found else None
    return PAGE_FILTERS.get(route.rule)


def test_every_list_and_page_by_every_role(hub: Hub) -> None:
    checked = 0
    lists = [r for r in person_routes(hub.app) if r.method == "GET" and not names_in(r)]
    for route in lists:
        assert route.spec is not None and route.spec.permission
        if route.rule not in LISTS:
            hub.wrong.append(f"GET {route.rule}: say in LISTS which records it shows")
            continue
        shows, by = LISTS[route.rule], vehicle_filter(route)
        queries: list[tuple[str, Side | None]] = [("", None)]
        if by:
            queries += [(f"?{by}={side.vehicle_id}", side) for side in (hub.own, hub.other)]
        for role in (r.value for r in Role if permits(r.value, route.spec.permission)):
            for query, only in queries:
                asked = {"vehicle": only.vehicle_id} if only else {}  # may echo the filter
                response = hub.call(route, role, asked, query)
                what = f"GET {route.rule}{query} as {role}"
                if response.status_code != 200:
                    hub.wrong.append(f"{what}: {response.status_code}")
                    continue
                text = response.get_data(as_text=True)
                for side in (hub.own, hub.other):
                    expected = shows is not None and (only is None or only is side)
                    expected = expected and (side is hub.own or fleet_wide(role))
                    if expected and shows is not None and side.ids[shows] not in text:
                        hub.wrong.append(f"{what}: does not show {side.tag}'s {shows}")
                checked += 1
    assert not hub.wrong, "\n".join(hub.wrong)
    assert len(lists) >= 40 and checked >= 350
