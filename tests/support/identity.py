"""Users, vehicles and credentials for tests (registered as a pytest plugin in conftest).

    def test_nurse_reads_patients(edge_client, edge_user):
        nurse = edge_user("nurse")                      # assigned to the edge's vehicle
        response = edge_client.get("/api/patients", headers=nurse.headers)

    def test_head_office(hub_client, hub_user):
        admin = hub_user("administrator")
        hub_client.get("/api/audit", headers=admin.headers)

`node_app` runs a test once on each app (edge with its vehicle, then hub) with the same
names: `node_app.client`, `node_app.user("doctor")`, `node_app.engine`.

`edge_vehicle` gives the edge database its vehicle the way enrollment will (a Vehicle
row, then `bind_vehicle`); `edge_user` depends on it. `page_login` logs a test client in
through the login page (cookie session) and returns the CSRF token for its writes;
`browser_login` does the same in Chromium.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from common.auth import tokens
from common.database import db, new_session
from common.node import bind_vehicle
from common.users import create_user
from schema.models import User, UserVehicle, Vehicle

PASSWORD = "Correct-Horse-9"
EDGE_VEHICLE_ID = "0190d1a0-0000-7000-8000-00000000e001"

_numbers = itertools.count(1)
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass(frozen=True)
class Staff:
    """A user made for a test, with a bearer token for the app they were made in."""

    id: str
    username: str
    password: str
    role: str
    full_name: str
    access_token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def make_vehicle(engine: Engine, vehicle_id: str | None = None, name: str | None = None) -> str:
    """A vehicle (clinic) row; returns its id."""
    number = next(_numbers)
    with new_session(engine) as session, session.begin():
        vehicle = Vehicle(
            name=name or f"Clinic {number}",
            registration_plate=f"TEST{number:04d}GP",
            practice_number=f"{number:07d}",
            status="active",
        )
        if vehicle_id:
            vehicle.id = vehicle_id
        session.add(vehicle)
    return vehicle.id


def bind_edge(engine: Engine, vehicle_id: str) -> None:
    """Make the edge database the node of this vehicle, as enrollment will."""
    with new_session(engine) as session, session.begin():
        vehicle = session.get(Vehicle, vehicle_id)
        assert vehicle is not None
        bind_vehicle(session, vehicle)


def make_staff(
    app: Flask,
    engine: Engine,
    role: str,
    *,
    vehicle_ids: Iterable[str] = (),
    username: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
    made_on: str | None = None,
) -> Staff:
    """A user of `role` in the app's database, with tokens issued by that app. The account
    is made on the database's own node (on an edge, an emergency account of that laptop,
    `common.users`) unless `made_on` names another: `HUB_NODE_ID` for an account that
    came from head office by sync, a device id for a laptop's account at the hub."""
    name = username or f"{role.replace('_', '-')}{next(_numbers)}"
    with new_session(engine) as session, session.begin():
        if made_on is not None:
            event.listen(session, "before_flush", _made_on(made_on))
        user = create_user(
            session,
            username=name,
            full_name=f"Test {role.replace('_', ' ').title()}",
            role=role,
            password=password,
            vehicle_ids=vehicle_ids,
        )
        user.active = active
    with app.app_context():
        issued = tokens.issue(app.config["SECRET_KEY"], user)
    return Staff(
        user.id,
        user.username,
        password,
        role,
        user.full_name,
        issued["access_token"],
        issued["refresh_token"],
    )


def _made_on(node: str) -> Callable[[Session, object, object], None]:
    def stamp(session: Session, _context: object, _instances: object) -> None:
        for row in session.new:
            if isinstance(row, User | UserVehicle):
                row.origin_node = node

    return stamp


def unassign(engine: Engine, user_id: str, vehicle_id: str) -> None:
    """Head office takes the user off the vehicle, as the change arrives by sync."""
    with new_session(engine) as session, session.begin():
        link = session.scalars(
            select(UserVehicle).filter_by(user_id=user_id, vehicle_id=vehicle_id)
        ).one()
        session.delete(link)


def bearer(app: Flask, user_id: str) -> dict[str, str]:
    """Authorization headers with a fresh access token for an existing user."""
    with app.app_context():
        user = db.session.get_one(User, user_id)
        token = tokens.issue(app.config["SECRET_KEY"], user)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def page_login(client: Any, staff: Staff, password: str | None = None) -> str:
    """Log a test client in through the login page; returns the session's CSRF token."""
    form = {"username": staff.username, "password": password or staff.password}
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get("/").get_data(as_text=True)
    match = _CSRF_META.search(page)
    assert match, "the start page carries no CSRF token after logging in"
    return match.group(1)


def browser_login(page: Any, base: str, staff: Staff) -> None:
    """Log in through the login page in a real browser, and wait until the page it lands
    on has run its scripts: the header is in the HTML before `app.js` has run, so a test
    that calls `Clinic` straight after seeing it would race the browser."""
    page.goto(base + "/login")
    page.fill("#username", staff.username)
    page.fill("#password", staff.password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=who]")
    page.wait_for_load_state("load")


@pytest.fixture
def edge_vehicle(edge_engine: Engine) -> str:
    """The edge database's vehicle: made and bound to the node, as enrollment will."""
    vehicle_id = make_vehicle(edge_engine, EDGE_VEHICLE_ID, "Test clinic")
    bind_edge(edge_engine, vehicle_id)
    return vehicle_id


@pytest.fixture
def edge_user(edge_app: Flask, edge_engine: Engine, edge_vehicle: str) -> Callable[..., Staff]:
    """Make users on the edge: `edge_user("nurse")`, assigned to the edge's vehicle unless
    `assigned=False`; other keywords as `make_staff`."""

    def make(
        role: str = "nurse",
        *,
        assigned: bool = True,
        vehicle_ids: Iterable[str] = (),
        **options: Any,
    ) -> Staff:
        vehicles = ([edge_vehicle] if assigned else []) + list(vehicle_ids)
        return make_staff(edge_app, edge_engine, role, vehicle_ids=vehicles, **options)

    return make


@pytest.fixture
def hub_user(hub_app: Flask, hub_engine: Engine) -> Callable[..., Staff]:
    """Make users at the hub: `hub_user("finance", vehicle_ids=[...])`."""

    def make(role: str = "administrator", **options: Any) -> Staff:
        return make_staff(hub_app, hub_engine, role, **options)

    return make


@pytest.fixture
def hub_vehicle(hub_engine: Engine) -> Callable[..., str]:
    """Make vehicles at the hub: `hub_vehicle()` returns a new vehicle's id."""

    def make(**options: Any) -> str:
        return make_vehicle(hub_engine, **options)

    return make


@dataclass(frozen=True)
class NodeApp:
    """One of the two apps, with what a test needs to drive it."""

    kind: str
    app: Flask
    client: Any
    engine: Engine
    user: Callable[..., Staff]


@pytest.fixture(params=["edge", "hub"])
def node_app(request: pytest.FixtureRequest) -> NodeApp:
    """Each app in turn: the edge (bound to its vehicle) and the hub."""
    kind = request.param
    app = request.getfixturevalue(f"{kind}_app")
    return NodeApp(
        kind,
        app,
        app.test_client(),
        request.getfixturevalue(f"{kind}_engine"),
        request.getfixturevalue(f"{kind}_user"),
    )
