"""A deadlock at the hub retries the whole exchange: MySQL answers a deadlock by rolling
back the transaction, savepoints and locks with it, so the applier must hand the
exchange back to be retried, never take the vanished savepoint for the change's fault
and go on in a new transaction without the batch's first part."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, text

from sync.clock import HybridLogicalClock
from sync.hub import Device
from tests.support.sync import Net, count
from tests.sync.test_apply import push, request_change, update

DEADLOCK = 1213


def cross_locks(
    engine: Engine, vehicle_id: str, peer: str, locked: threading.Event, done: threading.Event
) -> None:
    """Update every supply request of the vehicle (a heavier transaction than the exchange, so
    MySQL picks the exchange as the deadlock's victim), wait until the exchange waits for
    one of them, then ask for the device's sync link, which the exchange holds."""
    with engine.connect() as connection, connection.begin() as transaction:
        connection.execute(
            text(  # a new version, or the capture trigger refuses the write
                "UPDATE supply_request SET requested_by = 'blocker', "
                "version = concat(version, 'b') "
                "WHERE vehicle_id = :v"
            ),
            {"v": vehicle_id},
        )
        locked.set()
        own = connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
        waiting = text(  # the exchange's wait (innodb_trx does not list it yet)
            "SELECT count(*) FROM information_schema.processlist "
            "WHERE id <> :own AND info LIKE 'SELECT supply_request.%FOR UPDATE'"
        )
        deadline = time.monotonic() + 10
        while not connection.execute(waiting, {"own": own}).scalar():
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        else:
            link = text("SELECT peer FROM sync_link WHERE peer = :p FOR UPDATE")
            connection.execute(link, {"p": peer})
        transaction.rollback()
    done.set()


def test_a_deadlock_in_a_batch_applied_a_change_at_a_time_retries_the_whole_exchange(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    device = Device(a.node, a.vehicle_id)
    held = request_change(clock, a.vehicle_id)
    more = [request_change(clock, a.vehicle_id) for _ in range(100)]
    assert push(net, device, held, *more, after=0) == []

    created = request_change(clock, a.vehicle_id)
    renamed = update(clock, "supply_request", created.row_id, reason="renamed")
    touched = update(clock, "supply_request", held.row_id, reason="touched")
    codes: list[Any] = []

    def seen(context: Any) -> None:
        codes.append(getattr(context.original_exception, "args", [None])[0])

    event.listen(net.hub_engine, "handle_error", seen)
    locked, done = threading.Event(), threading.Event()
    blocker = threading.Thread(
        target=cross_locks, args=(net.hub_engine, a.vehicle_id, a.node, locked, done)
    )
    try:
        blocker.start()
        assert locked.wait(10)
        # `created` is named twice, so the batch is applied a change at a time
        quarantined = push(net, device, created, renamed, touched, after=1000)
    finally:
        blocker.join(30)
        event.remove(net.hub_engine, "handle_error", seen)
    assert done.is_set()
    assert DEADLOCK in codes, f"no deadlock happened (errors seen: {codes})"
    assert quarantined == []
    with net.hub_engine.connect() as connection:
        names = dict(connection.execute(text("SELECT id, reason FROM supply_request")).all())
    assert names[created.row_id] == "renamed"  # the first part of the batch is not lost
    assert names[held.row_id] == "touched"
    assert count(net.hub_engine, "SELECT count(*) FROM sync_quarantine") == 0
