"""A hub and any number of edges wired together in one process, for tests of the sync.

    def test_it(sync_net):
        net = sync_net()                  # the hub (MySQL) and a factory of edges
        a = net.edge("A")                 # an edge (SQLCipher file) enrolled as vehicle A
        ... write on a.engine ...
        a.sync()
        assert table_rows(net.hub_engine, "patient") == table_rows(a.engine, "patient")

Edges talk to the hub through `LocalTransport`, which runs the exchange in-process but
packs and unpacks every message, so what crosses is exactly what HTTP would carry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, event, select, text

import schema
from common import auditseal
from common.audit import GENESIS
from common.database import new_session, sqlcipher_engine
from hub.sync.exchange import on_applied
from schema.base import utcnow
from schema.models import Device
from sync import chain, codec, signing, wire
from sync.change import Change, ProtocolError
from sync.edge import EdgeSync, Result
from sync.hub import Device as HubDevice
from sync.hub import HubExchange
from sync.policy import Policy
from sync.protocol import Batch, Request
from sync.transport import HubRefused, Unreachable
from tests.support.identity import make_vehicle

CHAINS = chain.of(schema.synced_tables())


def audit_trail(count: int, origin: str = "d001") -> list[Change]:
    """A node's first `count` audit records as it sends them, each hash right."""
    previous, trail = GENESIS, []
    for number in range(1, count + 1):
        values: dict[str, Any] = {"chain_seq": number, "action": "read", "prev_hash": previous}
        values["hash"] = previous = CHAINS["audit_record"].compute(f"r{number}", origin, values)
        version = f"{number:016x}@{origin}"
        trail.append(Change("audit_record", f"r{number}", "i", version, values, origin=origin))
    return trail


class LocalTransport:
    """The hub's exchange called directly, with the message packed both ways."""

    def __init__(self, hub: HubExchange, device: HubDevice) -> None:
        self.hub = hub
        self.device = device
        self.calls = 0
        self.bytes_sent = 0
        self.sizes: list[int] = []  # each request's body, in bytes

    def exchange(self, body: bytes, hub_time_ms: int) -> bytes:
        self.calls += 1
        self.bytes_sent += len(body)
        self.sizes.append(len(body))
        request = Request.from_wire(wire.unpack(body), self.hub.chains)
        return wire.pack(self.hub.exchange(self.device, request).to_wire(self.hub.chains))


LINK_FAULTS = (
    "drop_request",  # the hub never sees it
    "drop_reply",  # the hub committed it; the edge never hears
    "duplicate",  # delivered twice; the second answer returns
    "reorder",  # held back, lost to the edge, and delivered after the next request
    "replay",  # an earlier request of this edge is delivered again first
    "truncate_request",  # cut short on the way: the hub refuses it unread
    "truncate_reply",  # the hub committed it; the edge gets half an answer
)


class FaultyLink:
    """Wraps an edge's transport with one fault (one of LINK_FAULTS) for its next exchange;
    `sent` keeps every request body, so one can be replayed later."""

    def __init__(self, edge: Edge) -> None:
        self.inner = edge.transport.exchange
        self.fault: str | None = None
        self.sent: list[bytes] = []
        self.held: list[bytes] = []
        edge.client.transport = self  # type: ignore[assignment]

    def exchange(self, body: bytes, hub_time_ms: int) -> bytes:
        fault, self.fault = self.fault, None
        late, self.held = self.held, []
        if fault == "replay" and self.sent:
            self.inner(self.sent[len(self.sent) // 2], hub_time_ms)
        self.sent.append(body)
        if fault == "drop_request":
            raise Unreachable("request lost")
        if fault == "truncate_request":
            try:
                wire.unpack(body[: len(body) // 2])
            except ProtocolError as error:  # the hub's route answers 400
                raise HubRefused(400, f"Malformed sync request: {error}") from None
            raise AssertionError("half a zstd frame should not unpack")
        if fault == "reorder":
            self.held = [body]
            raise Unreachable("request delayed")
        reply = self.inner(body, hub_time_ms)
        for old in late:  # the delayed request arrives after this one
            self.inner(old, hub_time_ms)
        if fault == "drop_reply":
            raise Unreachable("reply lost")
        if fault == "duplicate":
            reply = self.inner(body, hub_time_ms)
        if fault == "truncate_reply":
            return reply[: len(reply) // 2]
        return reply


@dataclass
class Edge:
    name: str
    node: str
    vehicle_id: str
    engine: Engine
    client: EdgeSync
    transport: LocalTransport

    def sync(self) -> Result:
        return self.client.run()


@dataclass
class Net:
    hub_engine: Engine
    hub: HubExchange
    hub_public_key: str
    make_engine: Callable[[str], Engine]
    reopen: Callable[[Engine], Engine]  # a new engine on the same database file
    edges: dict[str, Edge] = field(default_factory=dict)

    def edge(self, name: str, vehicle_id: str | None = None, *, pull: bool = True) -> Edge:
        """A new edge enrolled at the hub as (a new, or the given) vehicle's device;
        `pull=False` leaves it as enrollment does before the first sync."""
        node = f"d{len(self.edges) + 1:03d}{name.lower():0>9}"[:13]
        vehicle = vehicle_id or make_vehicle(self.hub_engine, name=f"Clinic {name}")
        enroll(self.hub_engine, node, vehicle)
        engine = self.make_engine(node)
        with engine.begin() as connection:
            connection.execute(text("UPDATE sync_node SET vehicle_id = :v"), {"v": vehicle})
        transport = LocalTransport(self.hub, HubDevice(node, vehicle))
        client = EdgeSync(engine, schema.synced_tables(), transport, hub_key=self.hub_public_key)
        edge = Edge(name, node, vehicle, engine, client, transport)
        if pull:
            edge.sync()  # the first pull brings the vehicle's own row, as enrollment does
        transport.calls = transport.bytes_sent = 0
        self.edges[name] = edge
        return edge

    def restart(self, edge: Edge) -> Edge:
        """The edge as its process finds it after a restart: the engine and its pool are
        disposed, and with them the node clock and the sync client; a new engine on the
        same file, whose clock loads from the database alone, and a new client behind
        the same link (the network does not restart with the laptop)."""
        edge.engine.dispose()
        engine = self.reopen(edge.engine)
        client = EdgeSync(
            engine, schema.synced_tables(), edge.client.transport, hub_key=self.hub_public_key
        )
        restarted = Edge(edge.name, edge.node, edge.vehicle_id, engine, client, edge.transport)
        self.edges[edge.name] = restarted
        return restarted


def enroll(hub_engine: Engine, node: str, vehicle_id: str) -> Ed25519PrivateKey:
    """Register a device at the hub, as the enrollment endpoint does; returns its key."""
    key = signing.new_private_key()
    with new_session(hub_engine) as session, session.begin():
        session.add(
            Device(
                id=node,
                vehicle_id=vehicle_id,
                name=f"laptop {node}",
                public_key=signing.public_key_text(key),
                status="active",
                enrolled_at=utcnow(),
            )
        )
    return key


@pytest.fixture
def sync_net(
    hub_engine: Engine, edge_template: Path, edge_key: bytes, tmp_path: Path
) -> Iterable[Callable[[], Net]]:
    engines: list[Engine] = []

    def make_engine(node: str) -> Engine:
        path = tmp_path / f"{node}-{len(engines)}.db"  # a new file even for a reused node id
        shutil.copyfile(edge_template, path)
        engine = sqlcipher_engine(path, edge_key)
        with engine.begin() as connection:
            connection.execute(text("UPDATE sync_node SET id = :n"), {"n": node})
        engines.append(engine)
        return engine

    def reopen(engine: Engine) -> Engine:
        engines.append(sqlcipher_engine(str(engine.url.database), edge_key))
        return engines[-1]

    def make() -> Net:
        key = signing.new_private_key()
        hooks = on_applied(auditseal.key_for(hub_engine))  # as the hub app wires it
        hub = HubExchange(hub_engine, schema.synced_tables(), key, on_applied=hooks)
        return Net(hub_engine, hub, signing.public_key_text(key), make_engine, reopen)

    yield make
    for engine in engines:
        engine.dispose()


class Crash(Exception):
    """The process died here (raised by `crash_after`)."""


@contextlib.contextmanager
def crash_after(engine: Engine, statements: int) -> Iterator[None]:
    """Make the process die at its `statements`-th SQL statement through `engine` inside
    the block: a `Crash` is raised before it runs, and the open transaction rolls back
    as SQLite's journal would after a kill -9. Memory is dropped by restarting after."""
    left = [statements]

    def before(*_: Any) -> None:
        left[0] -= 1
        if left[0] == 0:
            raise Crash(f"killed at SQL statement {statements}")

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def table_rows(engine: Engine, table_name: str, where: Any = None) -> list[dict[str, Any]]:
    """Every row of a synced table in the wire form, ordered by id: equal lists mean equal
    replicas, whatever the database."""
    table = schema.metadata.tables[table_name]
    query = select(table).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {name: codec.encode(table.c[name], value) for name, value in row.items()} for row in rows
    ]


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar() or 0)


def today() -> dt.date:
    return utcnow().date()


def unlogged_rows(engine: Engine) -> dict[str, int]:
    """Per synced table, how many rows have no change-log entry for their current version
    (empty when the change log matches the data, as capture in one transaction promises;
    rows an edge took from a starting snapshot and has not changed since are unlogged by
    design, `capture.unlogged_inserts`)."""
    missing = {}
    for name in schema.synced_tables():
        n = count(
            engine,
            f"SELECT count(*) FROM {name} t WHERE NOT EXISTS (SELECT 1 FROM sync_change c "  # noqa: S608 - a table name from our schema
            "WHERE c.table_name = :t AND c.row_id = t.id AND c.version = t.version)",
            t=name,
        )
        if n:
            missing[name] = n
    return missing


def integrity_problems(engine: Engine) -> list[str]:
    """What SQLite's and SQLCipher's integrity checks report (empty when the file is whole)."""
    with engine.connect() as connection:
        problems = [row[0] for row in connection.execute(text("PRAGMA integrity_check"))]
        ciphers = [row[0] for row in connection.execute(text("PRAGMA cipher_integrity_check"))]
    return [p for p in problems if p != "ok"] + ciphers


def applied_once(hub_engine: Engine, device: str) -> None:
    """Assert that the hub applied none of the device's changes twice: each version of a
    row is written once, and the device's applied batches, then those stored in the inbox
    to apply, tile its log from the start to what the hub acknowledged, without overlap
    or gap."""
    doubled = count(
        hub_engine,
        # op 's' re-sends a row's current version to a newly subscribed vehicle: not a write
        "SELECT count(*) FROM (SELECT table_name, row_id, version FROM sync_change "
        "WHERE op <> 's' GROUP BY table_name, row_id, version HAVING count(*) > 1) AS twice",
    )
    assert doubled == 0, f"{doubled} changes logged twice at the hub"
    with hub_engine.connect() as connection:
        ranges = connection.execute(
            text("SELECT first_seq, last_seq FROM sync_batch WHERE peer = :p ORDER BY first_seq"),
            {"p": device},
        ).all()
        ranges += connection.execute(
            text(
                "SELECT first_seq, last_seq FROM sync_inbox WHERE peer = :p "
                "AND applied_at IS NULL ORDER BY id"
            ),
            {"p": device},
        ).all()
    through = count(hub_engine, "SELECT pushed_seq FROM sync_link WHERE peer = :p", p=device)
    edges = [0] + [last for _, last in ranges]
    assert [first for first, _ in ranges] == edges[:-1], f"batches overlap or skip: {ranges}"
    assert edges[-1] == through, f"applied through {edges[-1]}, acknowledged {through}"


def queued_row_ids(hub_engine: Engine, table_name: str) -> set[str]:
    """Ids of `table_name` rows in batches the hub has stored in its inbox, not applied:
    acknowledged, so held, though not in the table yet."""
    with hub_engine.connect() as connection:
        bodies = connection.execute(
            text("SELECT body FROM sync_inbox WHERE applied_at IS NULL")
        ).scalars()
        batches = [Batch.from_wire(wire.unpack(body)) for body in bodies]
    return {c.row_id for batch in batches for c in batch.changes if c.table == table_name}


def shared_with_hub(edge_engine: Engine, hub_engine: Engine) -> None:
    """Head-office data a test made on an edge (and the accounts it assigned), as if it had
    come from the hub: copied to the hub (same ids and versions) where missing, and its
    entries in the edge's log put under the hub's name, so the edge does not push them
    (the hub would refuse them) and every row still has its entry."""
    with edge_engine.connect() as connection:
        node = connection.execute(text("SELECT id FROM sync_node")).scalar_one()
    for name, table in schema.synced_tables().items():
        if table.info["sync"].policy is not Policy.REFERENCE and name != "user":
            continue
        with edge_engine.connect() as connection:
            made = connection.execute(select(table)).mappings().all()
        with hub_engine.begin() as connection:
            held = set(connection.scalars(select(table.c.id)))
            missing = [dict(row) for row in made if row["id"] not in held]
            if missing:
                connection.execute(table.insert(), missing)
        with edge_engine.begin() as connection:
            connection.execute(
                text("UPDATE sync_change SET node = 'hub' WHERE table_name = :t AND node = :n"),
                {"t": name, "n": node},
            )
