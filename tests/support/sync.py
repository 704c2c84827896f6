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

import datetime as dt
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

import schema
from common.database import new_session, sqlcipher_engine
from hub.sync import duplicate
from schema.base import utcnow
from schema.models import Device
from sync import codec, signing, wire
from sync.edge import EdgeSync, Result
from sync.hub import Device as HubDevice
from sync.hub import HubExchange
from sync.protocol import Request
from tests.support.identity import make_vehicle


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
        request = Request.from_wire(wire.unpack(body))
        return wire.pack(self.hub.exchange(self.device, request).to_wire())


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


def enroll(hub_engine: Engine, node: str, vehicle_id: str) -> None:
    """Register a device at the hub, as the enrollment endpoint does."""
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

    def make() -> Net:
        key = signing.new_private_key()
        hub = HubExchange(hub_engine, schema.synced_tables(), key, on_applied=duplicate.detect)
        return Net(hub_engine, hub, signing.public_key_text(key), make_engine)

    yield make
    for engine in engines:
        engine.dispose()


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
