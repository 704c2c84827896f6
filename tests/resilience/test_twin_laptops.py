"""Two laptops of one vehicle, offline, make rows with the same natural key: nothing
collides at the hub and nothing is held back for ever (issue finding: twin devices).

Through real parts: a `clinic-hub serve` process and two SQLCipher edges enrolled over
HTTP for the same vehicle. Both take in the same physical batch ("DUP-1") and both open
a visit for the same patient on the same day. Afterwards the lot is one lot with both
receipts, stock agrees on the hub and both laptops, both visits are kept with an alert
to close one, and both laptops say "synced"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, func, select

from common.database import new_session
from edge.stock.service import receive_lot
from edge.sync import service as edge_sync
from schema.models import Item, Lot, Patient, StockMovement
from tests.support import rows
from tests.support.hubprocess import HubProcess, edge_for
from tests.support.sync import table_rows
from tests.sync.test_protocol import visit

STATUS = {"CLOCK_DRIFT_WARNING_SECONDS": 120}


def on_hand(engine: Engine) -> int:
    with new_session(engine) as session:
        return int(session.scalar(select(func.sum(StockMovement.quantity))) or 0)


def test_two_laptops_of_one_vehicle_converge_on_keys_they_both_made(
    hub_process: HubProcess,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    hub = (hub_process, hub_engine, edge_template, edge_key, tmp_path)
    a, config_a, vehicle = edge_for("a", *hub)
    b, config_b, _ = edge_for("b", *hub, vehicle=vehicle)  # the same vehicle's second laptop
    with new_session(hub_engine) as session, session.begin():  # head office's formulary
        item = Item(name="Amoxicillin", kind="medicine", unit="capsule", active=True)
        session.add(item)
    with new_session(a) as session, session.begin():
        patient_id = rows.patient(session, first_name="Sipho", registered_vehicle_id=vehicle).id
    for engine, config in ((a, config_a), (b, config_b), (a, config_a)):
        edge_sync.run(engine, config)
    expiry = dt.date.today() + dt.timedelta(days=200)
    for engine, quantity in ((a, 100), (b, 60)):  # offline, the same batch on both
        with new_session(engine) as session, session.begin():
            receive_lot(
                session,
                vehicle,
                "storekeeper",
                {
                    "item_id": item.id,
                    "batch_number": "DUP-1",
                    "expiry_date": expiry,
                    "quantity": quantity,
                },
            )
            visit(session, session.get_one(Patient, patient_id), vehicle)
    for engine, config in ((a, config_a), (b, config_b), (a, config_a), (b, config_b)):
        edge_sync.run(engine, config)

    for engine in (hub_engine, a, b):
        with new_session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Lot)) == 1
        assert on_hand(engine) == 160
        assert len(table_rows(engine, "visit")) == 2
        assert [x["kind"] for x in table_rows(engine, "alert")] == ["duplicate_visit"]
    assert table_rows(hub_engine, "sync_quarantine") == []
    for engine, config in ((a, config_a), (b, config_b)):
        state = edge_sync.status(engine, {**config, **STATUS})
        assert state["synced"] is True and state["held_back"] == 0, state
