"""`stock_level` follows every insert into the movement ledger, however it is written
(a sync applier writes movements without the stock service), on SQLite and MySQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from common.database import new_session
from schema.base import utcnow
from schema.models import Item, Lot, StockLevel, StockMovement
from tests.support import rows
from tests.support.identity import NodeApp


def test_the_trigger_keeps_stock_level_with_the_ledger(node_app: NodeApp) -> None:
    with new_session(node_app.engine) as session, session.begin():
        vehicle = rows.vehicle(session)
        item = Item(name="Saline", kind="consumable", unit="bag", reorder_level=0, active=True)
        session.add(item)
        session.flush()
        lot = Lot(
            item_id=item.id,
            vehicle_id=vehicle.id,
            batch_number="S1",
            expiry_date=dt.date(2030, 1, 1),
            created_at=utcnow(),
        )
        session.add(lot)
        session.flush()
        for kind, quantity in (("receipt", 30), ("dispense", -4), ("adjustment", 1)):
            session.add(
                StockMovement(
                    vehicle_id=vehicle.id,
                    item_id=item.id,
                    lot_id=lot.id,
                    kind=kind,
                    quantity=quantity,
                    actor_id="sync",
                    occurred_at=utcnow(),
                )
            )
            session.flush()
    with node_app.engine.connect() as connection:
        level = connection.execute(select(StockLevel).where(StockLevel.lot_id == lot.id)).one()
    assert (level.vehicle_id, level.item_id, level.quantity) == (vehicle.id, item.id, 27)
