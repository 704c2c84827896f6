"""kill -9 of the hub process at random points while two head-office users work over HTTP
(provinces, locations, the formulary, tariffs, routes planned, changed and cancelled,
supply requests approved and shipped): after each restart MariaDB's CHECK TABLE passes on
every table, every synced row's current version has its change-log entry, numbered in
commit order, the audit chains are whole, nothing is half-written (a route without its
stops, a fulfilled request without its delivery), and every write head office saw
acknowledged (a 2xx) is there with its audit record: each field it set holds that value,
or one head office sent after it (whose answer died with the hub). At the end the
vehicle's edge syncs and holds exactly the hub's rows for it: the change log carries the
data. Real processes and HTTP: `clinic-hub serve` on MySQL, an enrolled SQLCipher edge.
`--runs N` multiplies the kill points."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, func, select, text

import schema
from common import audit
from common.database import new_session
from common.users import create_user
from edge.sync import service as edge_sync
from schema.base import utcnow
from schema.models import AppointmentSlot, Delivery, Location, Route, RouteStop, SupplyRequest
from tests.hub import fleet_rows
from tests.hub.test_supply import LATER
from tests.support import mysql, rows
from tests.support.convergence import assert_replica
from tests.support.hubprocess import HubProcess, edge_for, head_office
from tests.support.identity import PASSWORD
from tests.support.sync import count, unlogged_rows

KILLS = 3
REQUESTS_PER_ROUND = 8  # pending supply requests from the vehicle, for stores to decide
USERS = ("head.planner", "head.stores")
REFUSED = object()  # a 409: the hub answered that it changed nothing
STOPS = RouteStop.__table__.c
Key = tuple[str, str, str]  # table, row id, column


@dataclass
class Ledger:
    """What head office sent to each field of each row it wrote, in order, and which was
    the last acknowledged (a 2xx). Each user writes only rows it made, so the order of
    one field's writes is the order they were sent."""

    sent: dict[Key, list[Any]] = field(default_factory=dict)
    acked: dict[Key, int] = field(default_factory=dict)
    writes: Counter[str] = field(default_factory=Counter)  # acknowledged, per row id

    def first(self, table: str, row_id: str, values: dict[str, Any]) -> None:
        """A row's first acknowledged write: its creation, or a request's approval."""
        for column, value in values.items():
            self.sent[(table, row_id, column)] = [value]
            self.acked[(table, row_id, column)] = 0
        self.writes[row_id] += 1

    def send(self, table: str, row_id: str, values: dict[str, Any]) -> list[tuple[Key, int]]:
        marks = []
        for column, value in values.items():
            attempts = self.sent[(table, row_id, column)]
            attempts.append(value)
            marks.append(((table, row_id, column), len(attempts) - 1))
        return marks

    def answered(self, marks: list[tuple[Key, int]], data: Any) -> None:
        """Record the hub's answer to a write sent (None: no answer came)."""
        for key, index in marks:
            if data is REFUSED:
                self.sent[key][index] = REFUSED  # the hub changed nothing
            elif data is not None:
                self.acked[key] = index
        if acknowledged(data):
            self.writes[marks[0][0][1]] += 1


def acknowledged(data: Any) -> bool:
    """Whether the hub's answer (HeadOffice.call) was a 2xx."""
    return data is not None and data is not REFUSED


@dataclass
class HeadOffice:
    """One head-office user writing until stopped, over HTTP, to rows it made itself."""

    base: str
    headers: dict[str, str]
    ledger: Ledger
    rng: random.Random
    stop: threading.Event
    unexpected: list[str]
    made: dict[str, list[str]] = field(default_factory=dict)  # acknowledged rows, per table
    days: dict[str, dt.date] = field(default_factory=dict)  # each route's day
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """The answer's data on a 2xx, REFUSED on a 409, None when no answer came."""
        try:
            response = requests.request(
                method, self.base + path, json=body, headers=self.headers, timeout=10
            )
        except requests.RequestException:
            return None  # the hub died under us: not acknowledged
        if response.ok:
            return response.json()["data"]
        if response.status_code == 409:  # e.g. a change to a route whose cancel committed
            return REFUSED
        self.unexpected.append(f"{method} {path}: {response.status_code} {response.text}")
        return None

    def create(self, table: str, path: str, body: dict[str, Any], kept: dict[str, Any]) -> Any:
        """Make a row; once acknowledged, its fields must hold `kept` (or a later change)."""
        data = self.call("POST", path, body)
        if acknowledged(data):
            self.ledger.first(table, data["id"], kept)
            self.made.setdefault(table, []).append(data["id"])
        return data

    def change(
        self,
        table: str,
        row_id: str,
        path: str,
        values: dict[str, Any],
        body: dict[str, Any] | None = None,
        method: str = "PUT",
    ) -> Any:
        """Send a change that sets `values` in one of our rows (as `body`, if given)."""
        marks = self.ledger.send(table, row_id, values)
        data = self.call(method, path, values if body is None else body)
        self.ledger.answered(marks, data)
        return data

    def mine(self, table: str) -> str | None:
        held = self.made.get(table)
        return self.rng.choice(held) if held else None

    def work(self, jobs: list[Callable[[HeadOffice], None]]) -> None:
        while not self.stop.is_set():
            self.rng.choice(jobs)(self)


# ------------------------------------------------------------------ the planner's jobs


def new_location(office: HeadOffice, province: str) -> None:
    name = f"Stop {next(office.numbers)}"
    body = {"province_id": province, "name": name}
    office.create("location", "/api/locations", body, {"name": name})


def rename_location(office: HeadOffice) -> None:
    location = office.mine("location")
    if location:
        name = f"Renamed {next(office.numbers)}"
        office.change("location", location, f"/api/locations/{location}", {"name": name})


def stops(office: HeadOffice, day: dt.date, locations: list[str]) -> list[dict[str, str]]:
    """One to three stops, two hours apart from 07:00 on `day`."""
    picked = office.rng.sample(locations, k=min(len(locations), office.rng.randint(1, 3)))
    start = dt.datetime.combine(day, dt.time(7), dt.UTC)
    return [
        {
            "location_id": location,
            "arrival_at": (start + dt.timedelta(hours=2 * i)).isoformat(),
            "departure_at": (start + dt.timedelta(hours=2 * i + 1)).isoformat(),
        }
        for i, location in enumerate(picked)
    ]


def new_route(office: HeadOffice, vehicle: str, locations: list[str]) -> None:
    day = utcnow().date() + dt.timedelta(days=office.rng.randint(1, 30))
    name = f"Route {next(office.numbers)}"
    planned = stops(office, day, locations + office.made.get("location", []))
    body = {"vehicle_id": vehicle, "route_date": str(day), "name": name, "stops": planned}
    kept = {"name": name, "status": "planned", "stops": len(planned)}
    made = office.create("route", "/api/routes", body, kept)
    if acknowledged(made):
        office.days[made["id"]] = day


def rename_route(office: HeadOffice) -> None:
    route = office.mine("route")
    if route:
        name = f"Renamed route {next(office.numbers)}"
        office.change("route", route, f"/api/routes/{route}", {"name": name}, method="PATCH")


def restop_route(office: HeadOffice, locations: list[str]) -> None:
    """Replace a route's stops (the old stops and slots are deleted, tombstones logged)."""
    route = office.mine("route")
    if route:
        planned = stops(office, office.days[route], locations + office.made.get("location", []))
        path, count = f"/api/routes/{route}", {"stops": len(planned)}
        office.change("route", route, path, count, {"stops": planned}, "PATCH")


def cancel_route(office: HeadOffice) -> None:
    route = office.mine("route")
    if route:
        path, status = f"/api/routes/{route}/cancel", {"status": "cancelled"}
        office.change("route", route, path, status, {"reason": "Flooded road"}, "POST")


# ------------------------------------------------------------------ the stores' jobs


def new_item(office: HeadOffice) -> None:
    name = f"Item {next(office.numbers)}"
    body = {"name": name, "kind": "medicine", "unit": "tablet"}
    office.create("item", "/api/formulary", body, {"name": name, "reorder_level": 0})


def change_item(office: HeadOffice) -> None:
    item = office.mine("item")
    if item:
        level = {"reorder_level": office.rng.randint(1, 500)}
        office.change("item", item, f"/api/formulary/{item}", level)


def new_tariff(office: HeadOffice) -> None:
    code = f"K{next(office.numbers)}"
    amount = Decimal("100.00")
    body = {"code": code, "description": "Kill test", "kind": "procedure", "amount": "100.00"}
    office.create("tariff", "/api/tariffs", body, {"code": code, "amount": amount})


def change_tariff(office: HeadOffice) -> None:
    tariff = office.mine("tariff")
    if tariff:
        amount = Decimal(office.rng.randint(100, 99_999)) / 100
        path, body = f"/api/tariffs/{tariff}", {"amount": str(amount)}
        office.change("tariff", tariff, path, {"amount": amount}, body)


def decide(office: HeadOffice, pending: list[str], item: str) -> None:
    """Approve a pending request, or ship one approved (once: its status is fulfilled)."""
    approved = office.made.setdefault("supply_request", [])
    if approved and office.rng.random() < 0.5:
        request = approved.pop(office.rng.randrange(len(approved)))
        line = {"item_id": item, "batch_number": "KILL-1", "expiry_date": LATER, "quantity": 50}
        path, status = f"/api/supply-requests/{request}/deliveries", {"status": "fulfilled"}
        office.change("supply_request", request, path, status, {"lines": [line]}, "POST")
    elif pending:
        request = pending.pop()
        data = office.call("POST", f"/api/supply-requests/{request}/approve", {})
        if acknowledged(data):
            office.ledger.first("supply_request", request, {"status": "approved"})
            approved.append(request)


# ------------------------------------------------------------------ the checks


def current(engine: Engine, key: Key) -> Any:
    """What the hub holds in one field (`stops`: how many stops a route has)."""
    table_name, row_id, column = key
    with engine.connect() as connection:
        if column == "stops":
            return connection.scalar(
                select(func.count()).select_from(RouteStop).where(STOPS.route_id == row_id)
            )
        table = schema.metadata.tables[table_name]
        return connection.scalar(select(table.c[column]).where(table.c.id == row_id))


def assert_acknowledged(engine: Engine, ledger: Ledger) -> None:
    for key, values in ledger.sent.items():
        allowed = values[ledger.acked[key] :]
        held = current(engine, key)
        assert held in allowed, f"{key}: the hub holds {held!r}, head office was told {allowed}"
    with engine.connect() as connection:
        audited = Counter(
            dict(
                connection.execute(
                    text(
                        "SELECT resource_id, count(*) FROM audit_record "
                        "WHERE resource_id IS NOT NULL GROUP BY resource_id"
                    )
                ).all()
            )
        )
    unaudited = {row: n for row, n in ledger.writes.items() if audited[row] < n}
    assert not unaudited, f"acknowledged writes without their audit records: {unaudited}"


def assert_whole(engine: Engine) -> None:
    """The database and its change log after a kill: nothing torn, nothing unlogged."""
    assert mysql.check_tables(engine) == []
    assert unlogged_rows(engine) == {}
    unnumbered = count(engine, "SELECT count(*) FROM sync_change WHERE commit_seq IS NULL")
    assert unnumbered == 0, "changes left without a commit sequence"
    numbered = count(engine, "SELECT count(DISTINCT commit_seq) FROM sync_change")
    assert numbered == count(engine, "SELECT count(*) FROM sync_change")
    top = count(engine, "SELECT max(commit_seq) FROM sync_change")
    assert count(engine, "SELECT value FROM sync_counter WHERE name = 'commit'") == top
    with new_session(engine) as session:
        broken = [report for report in audit.verify(session) if report.broken]
        assert not broken, broken
        bare_routes = session.scalar(
            select(func.count())
            .select_from(Route)
            .where(~select(RouteStop.id).where(STOPS.route_id == Route.id).exists())
        )
        assert bare_routes == 0, "routes without their stops"
        slotless = session.scalar(
            select(func.count())
            .select_from(RouteStop)
            .where(
                ~select(AppointmentSlot.id)
                .where(AppointmentSlot.route_stop_id == RouteStop.id)
                .exists()
            )
        )
        assert slotless == 0, "stops without their slots"
        fulfilled = session.scalar(
            select(func.count())
            .select_from(SupplyRequest)
            .where(
                SupplyRequest.status == "fulfilled",
                ~select(Delivery.id).where(Delivery.supply_request_id == SupplyRequest.id).exists(),
            )
        )
        assert fulfilled == 0, "fulfilled requests without their delivery"


# ------------------------------------------------------------------ the test


def seed(hub_engine: Engine, vehicle: str, requests_: int) -> tuple[str, str, list[str], str]:
    """Head office's users, a province and a location, an item, and the vehicle's pending
    supply requests: (province, location, requests, item)."""
    with new_session(hub_engine) as session, session.begin():
        for username in USERS:
            create_user(
                session,
                username=username,
                full_name=username,
                role="administrator",
                password=PASSWORD,
            )
        province = rows.province(session).id
        location = Location(province_id=province, name="Musina")
        session.add(location)
        session.flush()
        item = fleet_rows.item(session)
        pending = [
            fleet_rows.supply_request(session, vehicle, item, 50).id for _ in range(requests_)
        ]
    return province, location.id, pending, item.id


def test_a_hub_killed_while_head_office_writes_loses_nothing_acknowledged(
    hub_database_url: str,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
    runs: int,
) -> None:
    rng = random.Random(20261202 + runs)
    rounds = KILLS * runs
    hub = HubProcess(hub_database_url, tmp_path)
    hub.start()
    edge: Engine | None = None
    try:
        edge, config, vehicle = edge_for("k", hub, hub_engine, edge_template, edge_key, tmp_path)
        province, location, pending, item = seed(hub_engine, vehicle, REQUESTS_PER_ROUND * rounds)
        ledger, stop, unexpected = Ledger(), threading.Event(), []
        planner, stores = (
            HeadOffice(hub.base, head_office(hub, user), ledger, random.Random(i), stop, unexpected)
            for i, user in enumerate(USERS)
        )
        plans: list[Callable[[HeadOffice], None]] = [
            lambda o: new_location(o, province),
            rename_location,
            lambda o: new_route(o, vehicle, [location]),
            lambda o: new_route(o, vehicle, [location]),
            rename_route,
            lambda o: restop_route(o, [location]),
            cancel_route,
        ]
        stocks: list[Callable[[HeadOffice], None]] = [
            new_item,
            change_item,
            new_tariff,
            change_tariff,
            lambda o: decide(o, pending, item),
            lambda o: decide(o, pending, item),
        ]
        for round_ in range(rounds):
            if round_:
                hub.start()
            stop.clear()
            threads = [
                threading.Thread(target=planner.work, args=(plans,)),
                threading.Thread(target=stores.work, args=(stocks,)),
            ]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(0.5, 2.5))
            hub.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            assert_whole(hub_engine)
            assert_acknowledged(hub_engine, ledger)
        hub.start()
        assert sum(ledger.writes.values()) > rounds, "head office hardly wrote"
        assert unexpected == []
        edge_sync.run(edge, config)
        node = edge_sync.enrollment(Path(config["SECRETS_DIR"])).device_id
        assert_replica(edge, "the edge", vehicle, node, hub_engine)  # every synced table
    finally:
        hub.stop()
        if edge is not None:
            edge.dispose()
