"""Invariant 7: random work on several edges and the hub, synced in random orders through
a link that drops requests, loses replies and delivers twice, on laptops whose clocks are
hours wrong, ends with every replica holding the same rows and no append-only row lost or
doubled. Hub on MySQL, edges on SQLCipher. `SYNC_CONVERGENCE_EXAMPLES` sets the soak."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from common.database import new_session
from schema.base import utcnow
from schema.models import Patient, VitalSign
from sync.clock import wall_millis
from sync.stamp import clock_for
from sync.transport import SyncError, Unreachable
from tests.support import mysql, rows
from tests.support.sync import Edge, Net, table_rows
from tests.sync.test_protocol import visit

EXAMPLES = int(os.environ.get("SYNC_CONVERGENCE_EXAMPLES", "10"))
EDGES = ("A", "B")
FIELDS = {
    "phone": ["+27820000001", "+27820000002", None],
    "language": ["isiZulu", "Sesotho", "English"],
    "allergies": [["penicillin"], ["sulfa"], [], ["latex", "penicillin"]],
}

node = st.sampled_from(("hub", *EDGES))
edge_name = st.sampled_from(EDGES)
operation = st.one_of(
    st.tuples(st.just("register"), edge_name),
    st.tuples(st.just("edit"), node, st.sampled_from(sorted(FIELDS)), st.integers(0, 3)),
    st.tuples(st.just("vital"), edge_name),
    st.tuples(st.just("book"), edge_name),  # the hub books a known patient on a vehicle
    st.tuples(
        st.just("sync"),
        edge_name,
        st.sampled_from([None, None, "drop_request", "drop_reply", "duplicate"]),
    ),
)


class FaultyLink:
    """Wraps an edge's transport with one fault for its next exchange."""

    def __init__(self, edge: Edge) -> None:
        self.inner = edge.transport.exchange
        self.fault: str | None = None
        edge.client.transport = self  # type: ignore[assignment]

    def exchange(self, body: bytes, hub_time_ms: int) -> bytes:
        fault, self.fault = self.fault, None
        if fault == "drop_request":
            raise Unreachable("request lost")
        reply = self.inner(body, hub_time_ms)
        if fault == "drop_reply":
            raise Unreachable("reply lost")
        if fault == "duplicate":
            reply = self.inner(body, hub_time_ms)
        return reply


@dataclass
class World:
    net: Net
    edges: dict[str, Edge]
    links: dict[str, FaultyLink]
    vitals: set[str] = field(default_factory=set)

    def engine(self, name: str):  # noqa: ANN201 - an Engine
        return self.net.hub_engine if name == "hub" else self.edges[name].engine


def build(sync_net: Callable[[], Net], hub_engine) -> World:  # noqa: ANN001
    mysql.empty_tables(hub_engine)
    net = sync_net()
    edges, links = {}, {}
    for index, name in enumerate(EDGES):
        edge = net.edge(name)
        skew = (2 * index - 1) * 3 * 3600 * 1000  # one laptop 3 h behind, one 3 h ahead
        clock_for(edge.engine).use_wall(edge.node, lambda skew=skew: wall_millis() + skew)
        edges[name], links[name] = edge, FaultyLink(edge)
    return World(net, edges, links)


def run(world: World, op: tuple, rng: random.Random) -> None:  # noqa: C901 - a dispatcher
    kind = op[0]
    if kind == "register":
        edge = world.edges[op[1]]
        with new_session(edge.engine) as session, session.begin():
            visit(session, rows.patient(session, first_name=f"P{rng.random()}"), edge.vehicle_id)
    elif kind == "edit":
        _, where, column, choice = op
        with new_session(world.engine(where)) as session, session.begin():
            patients = session.scalars(select(Patient).order_by(Patient.id)).all()
            if patients:
                values = FIELDS[column]
                setattr(rng.choice(patients), column, values[choice % len(values)])
    elif kind == "vital":
        edge = world.edges[op[1]]
        with new_session(edge.engine) as session, session.begin():
            from schema.models import Visit

            visits = session.scalars(select(Visit).order_by(Visit.id)).all()
            mine = [v for v in visits if v.vehicle_id == edge.vehicle_id]
            if mine:
                chosen = rng.choice(mine)
                vital = VitalSign(
                    visit_id=chosen.id,
                    patient_id=chosen.patient_id,
                    vehicle_id=edge.vehicle_id,
                    recorded_by="nurse",
                    recorded_at=utcnow(),
                    pulse=rng.randint(50, 120),
                    temperature=Decimal("36.6"),
                )
                session.add(vital)
                session.flush()
                world.vitals.add(vital.id)
    elif kind == "book":
        edge = world.edges[op[1]]
        with new_session(world.net.hub_engine) as session, session.begin():
            from schema.models import Visit

            patients = session.scalars(select(Patient).order_by(Patient.id)).all()
            taken = set(
                session.scalars(select(Visit.patient_id).where(Visit.vehicle_id == edge.vehicle_id))
            )
            free = [p for p in patients if p.id not in taken]
            if free:
                visit(session, rng.choice(free), edge.vehicle_id)
    else:
        _, name, fault = op
        world.links[name].fault = fault
        try:
            world.edges[name].sync()
        except SyncError:
            pass


def settle(world: World) -> None:
    for _ in range(3):
        for edge in world.edges.values():
            edge.sync()


def assert_converged(world: World) -> None:
    hub = world.net.hub_engine
    hub_patients = {row["id"]: row for row in table_rows(hub, "patient")}
    for edge in world.edges.values():
        for row in table_rows(edge.engine, "patient"):
            hub_row = hub_patients[row["id"]]
            # `version` marks the last write applied on each replica, not the row's state
            differs = {
                k: (v, hub_row[k]) for k, v in row.items() if hub_row[k] != v and k != "version"
            }
            assert not differs, f"patient differs on {edge.name}: {differs}"
        from schema.models import Visit

        mine = Visit.__table__.c.vehicle_id == edge.vehicle_id
        assert table_rows(edge.engine, "visit", mine) == table_rows(hub, "visit", mine)
        vitals = VitalSign.__table__.c.vehicle_id == edge.vehicle_id
        assert table_rows(edge.engine, "vital_sign", vitals) == table_rows(
            hub, "vital_sign", vitals
        )
    assert {row["id"] for row in table_rows(hub, "vital_sign")} == world.vitals


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(operation, min_size=5, max_size=30), seed=st.integers(0, 2**32))
def test_replicas_converge(sync_net: Callable[[], Net], hub_engine, script, seed) -> None:  # noqa: ANN001
    world = build(sync_net, hub_engine)
    rng = random.Random(seed)
    for op in script:
        run(world, op, rng)
    settle(world)
    assert_converged(world)
