"""Vehicle scope at the hub, for every vehicle-scoped table: a device never receives
another vehicle's rows (nor its patients or crew), and whatever it pushes in another
vehicle's name (that vehicle's real rows, complete, under new ids) is quarantined, not
applied. Tables are read from the schema, so a new vehicle-scoped table is covered
without anyone listing it here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Table, func, select

import schema
from schema.base import new_id
from sync.change import Change
from sync.clock import HybridLogicalClock
from sync.edge import EdgeSync
from sync.hub import Device
from sync.policy import Policy, Scope
from tests.conftest import EDGE_NODE_ID
from tests.security.world import build
from tests.support.clinic import Clinic
from tests.support.identity import make_vehicle
from tests.support.sync import LocalTransport, Net, enroll, table_rows
from tests.sync.test_apply import push


def vehicle_tables() -> list[Table]:
    return [
        table
        for name, table in schema.synced_tables().items()
        if table.info["sync"].scope is Scope.VEHICLE and "vehicle_id" in table.c
    ]


def refusal_of(table: Table) -> str:
    """Why the hub refuses another vehicle's row of `table` from a device."""
    if table.info["sync"].policy is Policy.REFERENCE:
        return f"{table.name} is head-office data, changed only at head office"
    return "this row belongs to another vehicle"


def rows_of(engine: object, table: Table, vehicle_id: str) -> int:
    query = select(func.count()).select_from(table).where(table.c.vehicle_id == vehicle_id)
    with engine.connect() as connection:  # type: ignore[attr-defined]
        return connection.scalar(query) or 0


def test_a_device_gets_nothing_of_another_vehicle_and_cannot_write_in_its_name(
    clinic: Clinic, sync_net: Callable[[], Net]
) -> None:
    net = sync_net()
    world = build(clinic)  # a full clinic day (and a copy) on the clinic's edge: vehicle B
    make_vehicle(net.hub_engine, clinic.vehicle_id, "Clinic B")
    enroll(net.hub_engine, EDGE_NODE_ID, clinic.vehicle_id)
    transport = LocalTransport(net.hub, Device(EDGE_NODE_ID, clinic.vehicle_id))
    EdgeSync(clinic.engine, schema.synced_tables(), transport, hub_key=net.hub_public_key).run()
    at_hub = [t for t in vehicle_tables() if rows_of(net.hub_engine, t, clinic.vehicle_id)]
    assert {"visit", "vital_sign", "diagnosis", "clinical_note"} <= {t.name for t in at_hub}
    assert len(at_hub) >= 10

    a = net.edge("A")
    a.sync()
    received = {t.name: rows_of(a.engine, t, clinic.vehicle_id) for t in vehicle_tables()}
    assert {name: n for name, n in received.items() if n} == {}
    with a.engine.connect() as connection:
        patients = connection.scalar(
            select(func.count()).select_from(schema.metadata.tables["patient"])
        )
        crew = connection.scalars(select(schema.metadata.tables["user"].c.id)).all()
    assert patients == 0
    assert world.own["user"] not in crew

    clock = HybridLogicalClock(a.node)
    before = {t.name: rows_of(net.hub_engine, t, clinic.vehicle_id) for t in at_hub}
    forged = []
    for table in at_hub:  # B's own rows, complete, sent again by A under new ids
        row = table_rows(net.hub_engine, table.name, table.c.vehicle_id == clinic.vehicle_id)[0]
        values = {k: v for k, v in row.items() if k not in ("id", "version", "origin_node")}
        forged.append(Change(table.name, new_id(), "i", clock.tick(), values, origin=a.node))
    held = push(net, Device(a.node, a.vehicle_id), *forged)
    reasons = {change.table: reason for change, reason in held}
    assert reasons == {t.name: refusal_of(t) for t in at_hub}
    after = {t.name: rows_of(net.hub_engine, t, clinic.vehicle_id) for t in at_hub}
    assert after == before
