"""The starting snapshot (protocol, section 5a): a new laptop's bulk load holds exactly
what the per-row pull would, pushes nothing back, resumes after an interruption without
doubling anything, and a chunk delivered twice is applied once."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, text

import schema
from common.database import new_session
from schema.base import utcnow
from schema.models import Patient, User, UserVehicle
from sync import snapshot
from sync.change import ProtocolError
from sync.clock import node_of
from sync.edge import LOAD_ID
from sync.scope import Subscriber
from sync.transport import SyncError, Unreachable
from tests.support import rows
from tests.support.sync import Edge, LocalTransport, Net, count, table_rows
from tests.sync.test_protocol import link, visit

TABLES = ("vehicle", "province", "patient", "visit", "route", "user", "user_vehicle")


def seed(net: Net, vehicle: str, patients: int) -> list[str]:
    """Patients with a visit on `vehicle` at the hub; the first one edited later, so its
    columns carry different versions."""
    with new_session(net.hub_engine) as session, session.begin():
        province = rows.province(session, code="KZN")
        people = [
            rows.patient(session, first_name=f"Name{n}", province_id=province.id)
            for n in range(patients)
        ]
        for person in people:
            visit(session, person, vehicle)
    with new_session(net.hub_engine) as session, session.begin():
        edited = session.get(Patient, people[0].id)
        assert edited is not None
        edited.phone = "+27821234567"
        edited.updated_at = utcnow()
    return [p.id for p in people]


def clocks(engine: Engine, table: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            f"SELECT c.row_id, c.clocks FROM sync_clock c JOIN {table} t ON t.id = c.row_id "  # noqa: S608
            "ORDER BY c.row_id"
        )
        return [(row[0], row[1]) for row in found]


class CutAfter:
    """A transport that loses the link after `calls` exchanges."""

    def __init__(self, inner: LocalTransport, calls: int) -> None:
        self.inner = inner
        self.left = calls

    def exchange(self, body: bytes, hub_time_ms: int) -> bytes:
        if self.left == 0:
            raise Unreachable("cannot reach the hub: ConnectionError")
        self.left -= 1
        return self.inner.exchange(body, hub_time_ms)


def test_the_snapshot_holds_what_the_per_row_pull_would(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    per_row = net.edge("A")
    seed(net, per_row.vehicle_id, 12)
    per_row.sync()
    bulk = net.edge("A2", per_row.vehicle_id, pull=False)
    loaded = bulk.client.load(limit=5)
    assert loaded.rows == loaded.total and loaded.chunks == -(-loaded.total // 5)
    assert count(bulk.engine, "SELECT count(*) FROM patient") == 12
    for table in TABLES:
        assert table_rows(bulk.engine, table) == table_rows(per_row.engine, table), table
    assert clocks(bulk.engine, "patient") == clocks(per_row.engine, "patient")
    assert clocks(bulk.engine, "patient"), "the edited patient's column versions arrived"
    after = bulk.sync()
    assert after.pushed == 0, "loaded rows are not pushed back as local changes"
    assert link(bulk.engine)["pull_cursor"] >= link(per_row.engine)["pull_cursor"] - 1

    # later edits of the vehicle's patients reach the loaded laptop by the ordinary pull
    with new_session(net.hub_engine) as session, session.begin():
        patient = session.get(Patient, table_rows(bulk.engine, "patient")[3]["id"])
        assert patient is not None
        patient.last_name = "Hub-Edit"
        patient.updated_at = utcnow()
    bulk.sync()
    assert count(bulk.engine, "SELECT count(*) FROM patient WHERE last_name = 'Hub-Edit'") == 1


def test_an_interrupted_load_resumes_without_doubling(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    edge = net.edge("A", pull=False)
    seed(net, edge.vehicle_id, 20)
    real = edge.client.transport
    edge.client.transport = CutAfter(edge.transport, 3)
    seen: list[tuple[int, int | None]] = []
    with pytest.raises(SyncError, match="cannot reach the hub"):
        edge.client.load(lambda done, total: seen.append((done, total)), limit=4)
    assert [done for done, _ in seen] == [4, 8, 12]
    assert link(edge.engine)["pull_cursor"] == 0, "the cursor waits for the whole snapshot"
    assert count(edge.engine, "SELECT count(*) FROM sync_batch WHERE id = :i", i=LOAD_ID) == 1
    assert link(edge.engine)["last_error"], "the failure is recorded for the technician"

    edge.client.transport = real
    calls = edge.transport.calls
    resumed = edge.client.load(lambda done, total: seen.append((done, total)), limit=4)
    total = resumed.total or 0
    assert resumed.rows == total - 12, "only what was missing is applied"
    assert edge.transport.calls - calls == resumed.chunks == -(-(total - 12) // 4)
    assert seen[-1] == (total, total)
    edge.sync()
    for table in TABLES:
        assert table_rows(edge.engine, table) == table_rows(
            net.hub_engine, table, _mine(table, edge)
        ), table
    patients = count(edge.engine, "SELECT count(*) FROM patient")
    assert patients == 20
    logged = count(edge.engine, "SELECT count(*) FROM sync_change WHERE table_name = 'patient'")
    assert logged == 0, "loaded rows are inserted unlogged and none is applied again"
    assert count(edge.engine, "SELECT count(*) FROM sync_batch WHERE id = :i", i=LOAD_ID) == 0
    assert edge.client.load().chunks == 0, "a loaded laptop does not load again"


def test_a_loaded_laptop_pushes_its_own_edits_and_takes_the_hubs(
    sync_net: Callable[[], Net],
) -> None:
    """Loaded rows are inserted unlogged; the laptop's own later edits of them are logged
    under its node and pushed, the hub's later edits apply and are logged under the hub's
    node, and a union column edited on both sides merges as for any pulled row."""
    net = sync_net()
    edge = net.edge("A", pull=False)
    ids = seed(net, edge.vehicle_id, 5)
    edge.client.load(limit=3)
    assert edge.sync().pushed == 0
    assert count(edge.engine, "SELECT count(*) FROM sync_change WHERE table_name = 'patient'") == 0

    with new_session(edge.engine) as session, session.begin():
        mine = session.get(Patient, ids[1])
        both = session.get(Patient, ids[3])
        assert mine is not None and both is not None
        mine.phone = "+27820000001"
        both.allergies = ["penicillin"]
        mine.updated_at = both.updated_at = utcnow()
    with new_session(net.hub_engine) as session, session.begin():
        theirs = session.get(Patient, ids[2])
        both = session.get(Patient, ids[3])
        assert theirs is not None and both is not None
        theirs.last_name = "Hub-Edit"
        both.allergies = ["sulfa"]
        theirs.updated_at = both.updated_at = utcnow()
    assert edge.sync().pushed == 2
    edge.sync()

    assert table_rows(edge.engine, "patient") == table_rows(net.hub_engine, "patient")
    hub_rows = {row["id"]: row for row in table_rows(net.hub_engine, "patient")}
    assert hub_rows[ids[1]]["phone"] == "+27820000001"
    assert hub_rows[ids[2]]["last_name"] == "Hub-Edit"
    assert sorted(hub_rows[ids[3]]["allergies"]) == ["penicillin", "sulfa"]
    with edge.engine.connect() as connection:
        logged = connection.execute(
            text(
                "SELECT row_id, node FROM sync_change WHERE table_name = 'patient' "
                "AND op = 'u' ORDER BY seq"
            )
        ).all()
    hub_node = node_of(hub_rows[ids[2]]["version"])
    assert hub_node != edge.node
    assert (ids[1], edge.node) in logged and (ids[3], edge.node) in logged
    assert (ids[2], hub_node) in logged, "the hub's edit of a loaded row is logged as applied"
    assert {row_id for row_id, _ in logged} == {ids[1], ids[2], ids[3]}


def _mine(table: str, edge: Edge):  # noqa: ANN202 - a SQLAlchemy condition
    t = schema.metadata.tables[table]
    if table in ("visit", "route", "user_vehicle"):
        return t.c.vehicle_id == edge.vehicle_id
    if table == "vehicle":
        return t.c.id == edge.vehicle_id
    if table == "user":
        return t.c.id.in_([])
    return None


def test_the_vehicles_users_come_with_the_snapshot_and_no_others(
    sync_net: Callable[[], Net],
) -> None:
    """Users are read through the vehicle's subscriptions like patients: the assigned one
    arrives whole (its local TOTP secret stays at the hub), the other one does not."""
    net = sync_net()
    edge = net.edge("A", pull=False)
    seed(net, edge.vehicle_id, 3)
    with new_session(net.hub_engine) as session, session.begin():
        people = [
            User(
                username=name,
                full_name=name.title(),
                role="nurse",
                password_hash="x",
                totp_secret="SECRET" if name == "thandi" else None,
                created_at=utcnow(),
            )
            for name in ("thandi", "sipho")
        ]
        session.add_all(people)
        session.flush()
        session.add(UserVehicle(user_id=people[0].id, vehicle_id=edge.vehicle_id))
    edge.client.load(limit=2)
    [loaded] = table_rows(edge.engine, "user")
    users = schema.metadata.tables["user"]
    [at_hub] = table_rows(net.hub_engine, "user", users.c.id == people[0].id)
    assert loaded == {**at_hub, "totp_secret": None}
    assert count(edge.engine, "SELECT count(*) FROM user_vehicle") == 1


def test_a_chunk_delivered_twice_is_applied_once(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    edge = net.edge("A", pull=False)
    seed(net, edge.vehicle_id, 6)
    who = Subscriber(edge.node, edge.vehicle_id)
    tables = schema.synced_tables()
    through = net.hub._subscribe_all(edge.transport.device)
    with net.hub_engine.connect() as connection:
        chunk = snapshot.read(connection, tables, who, snapshot.Position(), 1000, through)
    assert chunk.next is None and chunk.rows == chunk.total
    outcomes = []
    for _ in range(2):
        with edge.engine.begin() as connection:
            applier = edge.client._applier(connection, edge.node)
            outcomes.append(snapshot.apply(connection, tables, chunk, applier))
    assert outcomes[0].applied == chunk.rows
    assert outcomes[1].applied == 0 and outcomes[1].unchanged == chunk.rows
    assert count(edge.engine, "SELECT count(*) FROM patient") == 6
    logged = count(edge.engine, "SELECT count(*) FROM sync_change WHERE table_name = 'visit'")
    assert logged == 0, "the second delivery changed nothing (an update would be logged)"


def test_a_malformed_chunk_is_refused_and_changes_nothing(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    edge = net.edge("A", pull=False)
    bad = {"through": 1, "total": 1, "parts": [["patient", ["first_name"], [["x"]]]], "next": None}
    chunk = snapshot.Chunk.from_wire(bad)
    with pytest.raises(ProtocolError, match="bad snapshot row"):
        with edge.engine.begin() as connection:
            applier = edge.client._applier(connection, edge.node)
            snapshot.apply(connection, schema.synced_tables(), chunk, applier)
    assert count(edge.engine, "SELECT count(*) FROM patient") == 0


def test_the_collector_pauses_for_chunks_and_resumes_after_the_last_pause() -> None:
    assert gc.isenabled()
    with snapshot.collection_paused():
        with snapshot.collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "another chunk is still being handled"
    assert gc.isenabled()
    gc.disable()
    try:
        with snapshot.collection_paused():
            pass
        assert not gc.isenabled(), "a collector paused by someone else stays paused"
    finally:
        gc.enable()
