"""An overloaded hub stores pushes and drains them later (`sync.inbox`): the receipt
covers what is stored, each batch is applied once and in order, a device with batches
stored gets no pull until they are applied, and their quarantine reports reach the edge
even across a lost reply. Hub on MySQL, edges on SQLCipher, messages packed as on the
wire."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine

from common.database import new_session
from schema.base import utcnow
from sync import inbox
from sync.edge import Result
from sync.hub import ApplySlots
from sync.hub import Device as HubDevice
from sync.transport import SyncError
from tests.support import rows
from tests.support.sync import (
    Edge,
    FaultyLink,
    Net,
    applied_once,
    count,
    queued_row_ids,
    table_rows,
)
from tests.sync.test_protocol import link, register

STORE_ALL = 0  # apply slots: none free, so every push is stored


def queued(hub_engine: Engine, device: str | None = None) -> int:
    return count(
        hub_engine,
        "SELECT count(*) FROM sync_inbox WHERE applied_at IS NULL AND (:p IS NULL OR peer = :p)",
        p=device,
    )


def overloaded(sync_net: Callable[[], Net]) -> tuple[Net, Edge]:
    """A hub that stores every push, and one vehicle's edge."""
    net = sync_net()
    edge = net.edge("A")
    net.hub.slots = ApplySlots(STORE_ALL)
    return net, edge


@contextlib.contextmanager
def drain_holding_first(net: Net, edge: Edge) -> Iterator[None]:
    """A drain (another process's, say) holding the edge's first stored batch, applied
    but not committed, until the block ends."""
    claimed, release = threading.Event(), threading.Event()

    def slow_drain() -> None:
        with net.hub_engine.begin() as connection:
            first = inbox.claim(connection, edge.node, net.hub.chains)
            assert first is not None
            held = net.hub._apply(connection, HubDevice(edge.node, edge.vehicle_id), first.batch)
            inbox.applied(connection, first, held, utcnow())
            claimed.set()
            release.wait(30)

    drain = threading.Thread(target=slow_drain)
    drain.start()
    assert claimed.wait(30)
    try:
        yield
    finally:
        release.set()
        drain.join(30)


def patients(engine: Engine) -> set[str]:
    return {row["id"] for row in table_rows(engine, "patient")}


def test_a_stored_push_is_acknowledged_at_once_and_applied_once_by_the_drain(
    sync_net: Callable[[], Net],
) -> None:
    net, edge = overloaded(sync_net)
    edge.client.batch_changes = 40  # several batches
    ids = register(edge, 60)
    result = edge.sync()
    assert result.pushed == 120 and result.pulled == 0
    assert queued(net.hub_engine, edge.node) >= 3
    assert not patients(net.hub_engine) & set(ids), "stored, not applied yet"
    assert set(ids) <= queued_row_ids(net.hub_engine, "patient")
    assert count(edge.engine, "SELECT count(*) FROM sync_batch WHERE direction = 'out'") == 0
    hub_link = link(net.hub_engine, edge.node)
    assert link(edge.engine)["pushed_seq"] == hub_link["pushed_seq"] > 0
    applied_once(net.hub_engine, edge.node)  # the stored batches tile the log too

    stored = queued(net.hub_engine)
    assert net.hub.drain() == stored
    assert queued(net.hub_engine) == 0
    assert set(ids) <= patients(net.hub_engine)
    applied_once(net.hub_engine, edge.node)
    assert net.hub.drain() == 0  # nothing is applied twice
    assert count(net.hub_engine, "SELECT count(*) FROM patient") == 60


def test_a_device_with_batches_stored_gets_no_pull_until_they_are_applied(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    with new_session(net.hub_engine) as session, session.begin():
        rows.province(session, code="GP")  # reference data every vehicle pulls
    net.hub.slots = ApplySlots(STORE_ALL)
    register(a, 1)
    assert a.sync().pulled == 0
    assert count(a.engine, "SELECT count(*) FROM province WHERE code = 'GP'") == 0
    assert b.sync().pulled > 0  # nothing stored for B: its pull comes
    assert a.sync().pulled == 0  # still stored: still no pull
    net.hub.drain()
    assert a.sync().pulled > 0
    assert count(a.engine, "SELECT count(*) FROM province WHERE code = 'GP'") == 1


def test_a_push_behind_stored_batches_is_stored_at_once_even_with_a_slot_free(
    sync_net: Callable[[], Net],
) -> None:
    """A request never waits for the drain: the push of a device with a batch stored (and
    being applied) is stored behind it and answered at once, without a pull; the sync
    after the drain pulls."""
    net, edge = overloaded(sync_net)
    with new_session(net.hub_engine) as session, session.begin():
        rows.province(session, code="GP")  # reference data the vehicle pulls
    first = register(edge, 1)
    assert edge.sync().pulled == 0  # stored: no slot, and so no pull
    net.hub.slots = ApplySlots(1)
    second = register(edge, 1)
    results: list[Result] = []
    syncing = threading.Thread(target=lambda: results.append(edge.sync()))
    with drain_holding_first(net, edge):
        syncing.start()
        syncing.join(10)
        waited = syncing.is_alive()
    syncing.join(30)
    assert not waited, "the push waited for the drain"
    assert results[0].pushed > 0 and results[0].pulled == 0
    assert queued(net.hub_engine, edge.node) == 1  # the second, behind the applied first
    assert net.hub.drain() == 1
    assert edge.sync().pulled > 0  # nothing stored now: the pull comes
    assert set(first + second) <= patients(net.hub_engine)
    applied_once(net.hub_engine, edge.node)  # in order: the batches tile the log
    assert count(edge.engine, "SELECT count(*) FROM province WHERE code = 'GP'") == 1


def test_a_syncs_earlier_pushes_are_stored_and_its_last_applied_once_the_drain_caught_up(
    sync_net: Callable[[], Net],
) -> None:
    """Acknowledged once stored, a sync's earlier batches are applied by the drain while
    the next ones travel (here: between exchanges); its last push (which asks for the
    pull), with a slot free and nothing left stored, is applied at once and gets the
    pull."""
    net = sync_net()
    edge = net.edge("A")
    with new_session(net.hub_engine) as session, session.begin():
        rows.province(session, code="GP")
    net.hub.slots = ApplySlots(1)
    edge.client.batch_changes = 40  # several batches
    ids = register(edge, 60)
    stored: list[int] = []
    inner = edge.transport.exchange

    def exchange(body: bytes, hub_time: int) -> bytes:
        reply = inner(body, hub_time)
        stored.append(queued(net.hub_engine, edge.node))
        net.hub.drain()  # caught up before the next push arrives
        return reply

    edge.transport.exchange = exchange  # type: ignore[method-assign]
    result = edge.sync()
    assert result.pushed == 120 and result.pulled > 0
    assert stored == [1, 1, 0]
    assert set(ids) <= patients(net.hub_engine)
    applied_once(net.hub_engine, edge.node)
    assert count(net.hub_engine, "SELECT count(*) FROM patient") == 60
    assert count(edge.engine, "SELECT count(*) FROM province WHERE code = 'GP'") == 1


def test_while_the_hub_is_behind_every_push_is_stored_even_with_a_slot_free(
    sync_net: Callable[[], Net],
) -> None:
    """Another vehicle's batch waiting is enough: the push is stored behind it (answered
    at once, without a pull) rather than applied ahead of it."""
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    with new_session(net.hub_engine) as session, session.begin():
        rows.province(session, code="GP")
    net.hub.slots = ApplySlots(STORE_ALL)
    register(a, 1)
    a.sync()
    net.hub.slots = ApplySlots(1)
    ids = register(b, 1)
    assert b.sync().pulled == 0
    assert queued(net.hub_engine, b.node) == 1
    assert not patients(net.hub_engine) & set(ids)
    assert net.hub.drain() == 2
    assert b.sync().pulled > 0
    assert set(ids) <= patients(net.hub_engine)
    applied_once(net.hub_engine, b.node)


def test_a_hub_without_a_drain_applies_what_was_left_stored_first(
    sync_net: Callable[[], Net],
) -> None:
    net, edge = overloaded(sync_net)
    first = register(edge, 1)
    edge.sync()
    net.hub.slots = None  # e.g. restarted as a one-off process
    second = register(edge, 1)
    edge.sync()
    assert queued(net.hub_engine) == 0
    assert set(first + second) <= patients(net.hub_engine)
    applied_once(net.hub_engine, edge.node)


def test_a_stored_batch_sent_again_after_a_lost_reply_is_stored_once(
    sync_net: Callable[[], Net],
) -> None:
    net, edge = overloaded(sync_net)
    faulty = FaultyLink(edge)
    register(edge, 3)
    faulty.fault = "drop_reply"
    with pytest.raises(SyncError):  # the reply is lost
        edge.sync()
    assert queued(net.hub_engine, edge.node) == 1
    faulty.fault = "duplicate"
    edge.sync()
    assert queued(net.hub_engine, edge.node) == 1
    net.hub.drain()
    applied_once(net.hub_engine, edge.node)
    assert count(net.hub_engine, "SELECT count(*) FROM patient") == 3


def test_a_stored_batchs_quarantine_report_reaches_the_edge_once_across_a_lost_reply(
    sync_net: Callable[[], Net],
) -> None:
    net, edge = overloaded(sync_net)
    faulty = FaultyLink(edge)
    with new_session(edge.engine) as session, session.begin():
        rows.province(session, code="XX")  # reference data: only head office edits it
    register(edge, 1)
    assert edge.sync().quarantined == 0  # stored: no report yet
    net.hub.drain()
    refused = "SELECT count(*) FROM sync_quarantine WHERE peer = :p AND reason LIKE 'refused by%'"
    faulty.fault = "drop_reply"
    with pytest.raises(SyncError):  # the reply is lost
        edge.sync()
    assert count(edge.engine, refused, p=edge.node) == 0
    assert edge.sync().quarantined == 1
    assert count(edge.engine, refused, p=edge.node) == 1
    reports = "SELECT count(*) FROM sync_inbox WHERE peer = :p"
    assert count(net.hub_engine, reports, p=edge.node) == 1  # kept until the edge says so
    assert edge.sync().quarantined == 0
    assert count(net.hub_engine, reports, p=edge.node) == 0
    assert count(edge.engine, refused, p=edge.node) == 1
    assert count(net.hub_engine, "SELECT count(*) FROM patient") == 1


def test_drains_running_at_once_apply_each_batch_once(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    edges = [net.edge(name) for name in "ABC"]
    net.hub.slots = ApplySlots(STORE_ALL)
    for edge in edges:
        edge.client.batch_changes = 20
        register(edge, 40)
        edge.sync()
    stored = queued(net.hub_engine)
    assert stored >= 12
    counts: list[int] = []
    drains = [threading.Thread(target=lambda: counts.append(net.hub.drain())) for _ in range(3)]
    for thread in drains:
        thread.start()
    for thread in drains:
        thread.join()
    assert sum(counts) == stored and queued(net.hub_engine) == 0
    for edge in edges:
        applied_once(net.hub_engine, edge.node)
    assert count(net.hub_engine, "SELECT count(*) FROM patient") == 120


def test_a_hub_without_a_drain_waits_for_a_running_drain_then_applies_the_rest_in_order(
    sync_net: Callable[[], Net],
) -> None:
    net, edge = overloaded(sync_net)
    for _ in range(2):
        register(edge, 1)
        edge.sync()
    assert queued(net.hub_engine, edge.node) == 2
    syncing = threading.Thread(target=edge.sync)
    with drain_holding_first(net, edge):
        net.hub.slots = None
        register(edge, 1)
        syncing.start()
        syncing.join(0.5)
        assert syncing.is_alive(), "the push should wait for the drain holding the first batch"
    syncing.join(30)
    assert queued(net.hub_engine) == 0  # the second stored batch was applied too
    applied_once(net.hub_engine, edge.node)
    assert count(net.hub_engine, "SELECT count(*) FROM patient") == 3
