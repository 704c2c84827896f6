"""Random clinic work on several edges and the hub, for the convergence tests: a `World`
of edges behind faulty links, `run` to perform one operation, `settle` to sync cleanly and
`assert_converged` to compare every replica with the hub."""

from __future__ import annotations

import itertools
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select, text

from common.database import new_session
from schema.base import utcnow
from schema.models import Patient, Visit, VitalSign
from sync.clock import wall_millis
from sync.stamp import clock_for
from sync.transport import SyncError
from tests.support import mysql, rows
from tests.support.sync import Edge, FaultyLink, Net, applied_once, table_rows
from tests.sync.test_protocol import visit

FIELDS = {
    "phone": ["+27820000001", "+27820000002", None],
    "language": ["isiZulu", "Sesotho", "English"],
    "allergies": [["penicillin"], ["sulfa"], [], ["latex", "penicillin"]],
}
HOUR_MS = 3600 * 1000


@dataclass
class World:
    net: Net
    edges: dict[str, Edge]
    links: dict[str, FaultyLink]
    vitals: set[str] = field(default_factory=set)

    def engine(self, name: str):  # noqa: ANN201 - an Engine
        return self.net.hub_engine if name == "hub" else self.edges[name].engine


def build(sync_net: Callable[[], Net], hub_engine: Engine, skews: dict[str, int]) -> World:
    """A fresh hub and one edge per name in `skews`, whose laptop clock is off by that
    many milliseconds, each behind a FaultyLink."""
    mysql.empty_tables(hub_engine)
    net = sync_net()
    edges, links = {}, {}
    for name, skew in skews.items():
        edge = net.edge(name)
        edges[name], links[name] = edge, FaultyLink(edge)
        skew_clock(edge, skew)
    return World(net, edges, links)


def skew_clock(edge: Edge, skew_ms: int) -> None:
    """Make the edge's laptop clock run `skew_ms` away from true time. Later calls move
    the same laptop's clock: its hybrid logical clock keeps what it has issued."""
    skews = _skews.setdefault(edge.engine, {})
    if not skews:
        clock_for(edge.engine).use_wall(lambda: wall_millis() + skews["ms"])
    skews["ms"] = skew_ms


def restart(world: World, name: str, skew_ms: int) -> Edge:
    """Restart an edge's process (`Net.restart`): nothing but its database file survives,
    and the laptop's clock comes back `skew_ms` off (a reboot is when laptop clocks jump:
    reset by a flat clock battery, corrected at boot)."""
    edge = world.edges[name] = world.net.restart(world.edges[name])
    skew_clock(edge, skew_ms)
    return edge


_skews: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


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
    """Clean rounds: every edge syncs three times over a perfect link, and the hub drains
    what it stored after each round (a device with batches stored gets no pull)."""
    for _ in range(3):
        world.net.hub.drain()
        for edge in world.edges.values():
            edge.sync()
    world.net.hub.drain()


def assert_converged(world: World) -> None:
    """Every edge holds what the hub holds of its patients, visits and vitals."""
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
        mine = Visit.__table__.c.vehicle_id == edge.vehicle_id
        assert table_rows(edge.engine, "visit", mine) == table_rows(hub, "visit", mine)
        vitals = VitalSign.__table__.c.vehicle_id == edge.vehicle_id
        assert table_rows(edge.engine, "vital_sign", vitals) == table_rows(
            hub, "vital_sign", vitals
        )
    assert {row["id"] for row in table_rows(hub, "vital_sign")} == world.vitals


def assert_applied_once(world: World) -> None:
    """No change was applied twice at the hub (see `sync.assert_applied_once`)."""
    for edge in world.edges.values():
        applied_once(world.net.hub_engine, edge.node)


def assert_versions_grow(world: World) -> None:
    """Each edge's own change-log entries carry ever higher versions, across restarts and
    clock changes: an edit that ordered below the same laptop's earlier one would lose to
    it everywhere, an acknowledged write silently undone."""
    for edge in world.edges.values():
        with edge.engine.connect() as connection:
            versions = connection.execute(
                text("SELECT version FROM sync_change WHERE node = :n ORDER BY seq"),
                {"n": edge.node},
            ).scalars()
            ordered = list(versions)
        behind = [(a, b) for a, b in itertools.pairwise(ordered) if b < a]
        assert not behind, f"{edge.name} issued versions below earlier ones: {behind}"


def assert_same_winner(world: World) -> None:
    """Every replica holding a patient shows the same value of each contested field."""
    seen: dict[tuple[str, str], set[str]] = {}
    engines = [world.net.hub_engine, *(edge.engine for edge in world.edges.values())]
    for engine in engines:
        for row in table_rows(engine, "patient"):
            for column in FIELDS:
                seen.setdefault((row["id"], column), set()).add(repr(row[column]))
    split = {key: values for key, values in seen.items() if len(values) > 1}
    assert not split, f"replicas disagree on the winner: {split}"
