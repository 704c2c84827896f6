"""Random clinic work on several edges and the hub, for the convergence tests: a `World`
of edges behind faulty links (two of them may be laptops of one vehicle), `run` to
perform one operation (registering, editing, vitals, bookings, stock receipts, backups
and restores of a laptop), `settle` to sync cleanly and `assert_converged` to compare
every synced table of every replica with the hub."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import shutil
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select, text

import schema
from common import audit, auditseal
from common.database import new_session
from edge.stock.service import receive_lot
from schema.base import utcnow
from schema.models import AuditRecord, Claim, ClaimLine, Item, Patient, Visit, VitalSign
from sync.clock import wall_millis
from sync.policy import Scope
from sync.stamp import clock_for
from sync.transport import SyncError
from tests.support import mysql, rows
from tests.support.sync import (
    Edge,
    FaultyLink,
    Net,
    applied_once,
    queued_row_ids,
    table_rows,
)
from tests.sync.test_protocol import visit

FIELDS = {
    "phone": ["+27820000001", "+27820000002", None],
    "language": ["isiZulu", "Sesotho", "English"],
    "allergies": [["penicillin"], ["sulfa"], [], ["latex", "penicillin"]],
}
HOUR_MS = 3600 * 1000


BATCHES = ("B-1", "B-2")  # few, so laptops of one vehicle take in the same batch


@dataclass
class World:
    net: Net
    edges: dict[str, Edge]
    links: dict[str, FaultyLink]
    vitals: set[str] = field(default_factory=set)
    item_id: str = ""
    backups: dict[str, Path] = field(default_factory=dict)  # each laptop's last backup

    def engine(self, name: str):  # noqa: ANN201 - an Engine
        return self.net.hub_engine if name == "hub" else self.edges[name].engine


def build(
    sync_net: Callable[[], Net],
    hub_engine: Engine,
    skews: dict[str, int],
    twins: dict[str, str] | None = None,
) -> World:
    """A fresh hub with a formulary item and one edge per name in `skews`, whose laptop
    clock is off by that many milliseconds, each behind a FaultyLink; `twins` names
    edges that are a second laptop of another's vehicle."""
    mysql.empty_tables(hub_engine)
    with new_session(hub_engine) as session, session.begin():
        item = Item(name="Paracetamol 500mg", kind="medicine", unit="tablet", active=True)
        session.add(item)
    net = sync_net()
    edges, links = {}, {}
    for name, skew in skews.items():
        twin = (twins or {}).get(name)
        edge = net.edge(name, edges[twin].vehicle_id if twin else None)
        edges[name], links[name] = edge, FaultyLink(edge)
        skew_clock(edge, skew)
    return World(net, edges, links, item_id=item.id)


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


def _draft_claim(edge: Edge, rng: random.Random) -> None:
    """A claim drafted at a visit's closure (superseding its withdrawn one, if any)."""
    with new_session(edge.engine) as session, session.begin():
        visits = session.scalars(
            select(Visit).where(Visit.vehicle_id == edge.vehicle_id).order_by(Visit.id)
        ).all()
        live = set(session.scalars(select(Claim.visit_id).where(Claim.status != "withdrawn")))
        free = [v for v in visits if v.id not in live]
        if not free:
            return
        chosen = rng.choice(free)
        before = session.scalar(
            select(Claim.id)
            .where(Claim.visit_id == chosen.id)
            .order_by(Claim.created_at.desc())
            .limit(1)
        )
        now = utcnow()
        claim = Claim(
            visit_id=chosen.id,
            supersedes_id=before,
            patient_id=chosen.patient_id,
            vehicle_id=edge.vehicle_id,
            practice_number="0123456",
            service_date=chosen.visit_date,
            icd10_codes=["J069"],
            total_amount=Decimal("350.00"),
            status="ready",
            problems=[],
            rejection_codes=[],
            created_by="doctor",
            created_at=now,
            updated_at=now,
        )
        session.add(claim)
        session.flush()
        session.add(
            ClaimLine(
                claim_id=claim.id,
                vehicle_id=edge.vehicle_id,
                kind="consultation",
                code="0190",
                description="Consultation",
                quantity=1,
                unit_price=Decimal("350.00"),
                amount=Decimal("350.00"),
            )
        )


def _send_claim(world: World, rng: random.Random) -> None:
    """Head office sends a ready claim to PALMED, which accepts it."""
    with new_session(world.net.hub_engine) as session, session.begin():
        ready = session.scalars(
            select(Claim).where(Claim.status == "ready").order_by(Claim.id)
        ).all()
        if ready:
            claim = rng.choice(ready)
            claim.status, claim.palmed_claim_id = "accepted", f"PM-{claim.id[:8]}"


def _withdraw_claim(edge: Edge, rng: random.Random) -> None:
    """A visit reopened on the laptop: its claim withdrawn there, whatever the hub has
    done with it meanwhile (a sent one comes back as the hub has it)."""
    with new_session(edge.engine) as session, session.begin():
        claims = session.scalars(
            select(Claim)
            .where(Claim.vehicle_id == edge.vehicle_id, Claim.status != "withdrawn")
            .order_by(Claim.id)
        ).all()
        if claims:
            claim = rng.choice(claims)
            claim.status, claim.withdrawal_reason = "withdrawn", "reopened"
            claim.withdrawn_by, claim.withdrawn_at = "administrator", utcnow()


def back_up(world: World, name: str) -> None:
    """A copy of the laptop's database file as it stands (its process stops for it, as a
    backup's consistent snapshot would see it: committed work only)."""
    edge = world.edges[name]
    path = Path(str(edge.engine.url.database))
    edge.engine.dispose()  # the last connection to close folds the WAL into the file
    copy = path.with_name(f"{path.name}.backup")
    shutil.copyfile(path, copy)
    world.backups[name] = copy
    restart(world, name, _skews.get(edge.engine, {}).get("ms", 0))


def restore(world: World, name: str, skew_ms: int) -> None:
    """The laptop restored from its last backup (`clinic-provision restore`, which also
    starts its audit trail on a branch), its process started again."""
    edge = world.edges[name]
    path = Path(str(edge.engine.url.database))
    edge.engine.dispose()
    for sidecar in ("-wal", "-shm"):
        path.with_name(path.name + sidecar).unlink(missing_ok=True)
    shutil.copyfile(world.backups[name], path)
    restored = restart(world, name, skew_ms)
    with restored.engine.begin() as connection:
        audit.branch_after_restore(connection, auditseal.key_for(restored.engine))
    # what it made after the backup and never sent is gone with the set-aside file
    held = {row["id"] for row in table_rows(world.net.hub_engine, "vital_sign")}
    held |= queued_row_ids(world.net.hub_engine, "vital_sign")
    for edge in world.edges.values():
        held |= {row["id"] for row in table_rows(edge.engine, "vital_sign")}
    world.vitals &= held


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
    elif kind == "receive":  # a batch taken into stock, the same batch maybe on a twin
        _, name, batch, quantity = op
        edge = world.edges[name]
        with new_session(edge.engine) as session, session.begin():
            if session.get(Item, world.item_id) is None:
                return  # the formulary has not reached this laptop yet
            data = {
                "item_id": world.item_id,
                "batch_number": BATCHES[batch % len(BATCHES)],
                "expiry_date": dt.date(2030, 1, 31),
                "quantity": quantity,
            }
            receive_lot(session, edge.vehicle_id, "storekeeper", data)
    elif kind == "claim":
        _draft_claim(world.edges[op[1]], rng)
    elif kind == "send":
        _send_claim(world, rng)
    elif kind == "reopen":
        _withdraw_claim(world.edges[op[1]], rng)
    elif kind == "audit":  # a crew member reads a patient's record: one audit record
        edge = world.edges[op[1]]
        who = audit.Who("u-1", "sister", "nurse", None, None, edge.vehicle_id)
        with new_session(edge.engine) as session, session.begin():
            audit.record(session, who, "patient_read", resource_type="patient")
    elif kind == "backup":
        back_up(world, op[1])
    elif kind == "restore":
        _, name, skew = op
        if name in world.backups:
            restore(world, name, skew)
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
    """Every edge holds what the hub holds, table by synced table: each row it has is
    the hub's, value for value; of its vehicle's rows and of the fleet's reference data
    it has exactly the hub's (deletes included); its stock on hand per lot is the sum of
    the hub's ledger; and the hub holds every vital sign made that was not discarded."""
    hub = world.net.hub_engine
    for edge in world.edges.values():
        assert_replica(edge.engine, edge.name, edge.vehicle_id, edge.node, hub)
    assert {row["id"] for row in table_rows(hub, "vital_sign")} == world.vitals


def assert_replica(engine: Engine, name: str, vehicle_id: str, node: str, hub: Engine) -> None:
    """One laptop against the hub, every synced table (see `assert_converged`)."""
    for table_name, table in schema.synced_tables().items():
        spec = table.info["sync"]
        if spec.scope is Scope.HUB:
            continue  # sent up only: the audit trail (its chains are checked apart)
        at_hub = {row["id"]: row for row in table_rows(hub, table_name)}
        here = table_rows(engine, table_name)
        for row in here:
            _same_row(table_name, name, row, at_hub.get(row["id"]))
        ids = {row["id"] for row in here}
        if spec.scope is Scope.VEHICLE:
            column = spec.scope_column or "vehicle_id"
            mine = {i for i, row in at_hub.items() if row[column] == vehicle_id}
            assert ids == mine, f"{table_name} of {name}'s vehicle: {ids ^ mine}"
        elif spec.scope is Scope.ALL:
            assert ids == set(at_hub), f"{table_name} on {name}: {ids ^ set(at_hub)}"
    assert _on_hand(engine, vehicle_id) == _ledger(hub, vehicle_id)
    _same_trail(engine, name, node, hub)


def _same_trail(engine: Engine, name: str, node: str, hub: Engine) -> None:
    """Every audit record the laptop holds reached the hub as it is, and every chain of
    both verifies (a restored laptop's branch included)."""
    at_hub = {row["id"]: row for row in audit_rows(hub, node)}
    for row in audit_rows(engine, node):
        _same_row("audit_record", name, row, at_hub.get(row["id"]))
    for replica in (engine, hub):
        with new_session(replica) as session:
            broken = [r for r in audit.verify(session) if r.broken is not None]
        assert broken == [], broken


def audit_rows(engine: Engine, node: str) -> list[dict]:
    table = AuditRecord.__table__
    return table_rows(engine, "audit_record", table.c.origin_node == node)


def _same_row(table: str, edge: str, row: dict, hub_row: dict | None) -> None:
    assert hub_row is not None, f"{table} {row['id']} on {edge} is not at the hub"
    # `version` marks the last write applied on each replica, and `origin_node` the node
    # that made the row there (a row named by its key may be made on two laptops of a
    # vehicle, the hub keeping the first): neither is the row's state, which syncs
    differs = {
        k: (v, hub_row[k])
        for k, v in row.items()
        if hub_row[k] != v and k not in ("version", "origin_node")
    }
    assert not differs, f"{table} differs on {edge}: {differs}"


def _ledger(engine: Engine, vehicle_id: str) -> dict[str, int]:
    query = text(
        "SELECT lot_id, sum(quantity) FROM stock_movement WHERE vehicle_id = :v GROUP BY lot_id"
    )
    with engine.connect() as connection:
        return {lot: int(total) for lot, total in connection.execute(query, {"v": vehicle_id})}


def _on_hand(engine: Engine, vehicle_id: str) -> dict[str, int]:
    """The laptop's own summary of stock on hand (kept from the ledger by a trigger)."""
    query = text("SELECT lot_id, quantity FROM stock_level WHERE vehicle_id = :v")
    with engine.connect() as connection:
        found = dict(connection.execute(query, {"v": vehicle_id}).all())
    return {lot: int(quantity) for lot, quantity in found.items()}


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
