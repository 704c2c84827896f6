"""Invariant 11: what a device pushes beyond its rights is quarantined at the hub, not
applied: reference data, another vehicle's rows, head-office accounts, and changes that
claim to be another node's. Batches are forged here, as a compromised laptop could."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, text

from common.database import new_session
from schema.base import new_id, utcnow
from schema.models import Route
from sync.change import Change
from sync.clock import HybridLogicalClock
from sync.hub import Device
from sync.protocol import Batch, Request
from tests.support import rows
from tests.support.sync import Net, count


def push(net: Net, device: Device, *changes: Change, after: int = 0) -> list[tuple[Change, str]]:
    batch = Batch(new_id().replace("-", ""), after, after + 1000, list(changes))
    reply = net.hub.exchange(device, Request(batch, 0, False, 0))
    return reply.quarantined


def route_change(clock: HybridLogicalClock, vehicle_id: str, route_id: str | None = None) -> Change:
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    values = {
        "vehicle_id": vehicle_id,
        "route_date": "2026-12-02",
        "name": "forged",
        "status": "planned",
        "created_by": "x",
        "created_at": now,
    }
    return Change("route", route_id or new_id(), "i", clock.tick(), values, origin=clock.node)


def test_rows_of_another_vehicle_are_refused(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    clock = HybridLogicalClock(a.node)
    held = push(net, Device(a.node, a.vehicle_id), route_change(clock, b.vehicle_id))
    assert [reason for _, reason in held] == ["this row belongs to another vehicle"]
    assert count(net.hub_engine, "SELECT count(*) FROM route") == 0


def test_moving_a_row_to_another_vehicle_is_refused(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    with new_session(net.hub_engine) as session, session.begin():
        route = Route(
            vehicle_id=b.vehicle_id,
            route_date=utcnow().date(),
            name="B's",
            created_by="x",
            created_at=utcnow(),
        )
        session.add(route)
    clock = HybridLogicalClock(a.node)
    steal = Change("route", route.id, "u", clock.tick(), {"vehicle_id": a.vehicle_id})
    held = push(net, Device(a.node, a.vehicle_id), steal)
    assert len(held) == 1 and "another vehicle" in held[0][1]
    assert (
        count(net.hub_engine, "SELECT count(*) FROM route WHERE vehicle_id = :v", v=b.vehicle_id)
        == 1
    )


def test_reference_data_and_head_office_accounts_are_refused(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a = net.edge("A")
    with new_session(net.hub_engine) as session, session.begin():
        province = rows.province(session, code="NW")
        from common.users import create_user

        user = create_user(
            session,
            username="hq.nurse",
            full_name="HQ Nurse",
            role="nurse",
            password="Correct-Horse-9",
            vehicle_ids=[a.vehicle_id],
        )
    clock = HybridLogicalClock(a.node)
    held = push(
        net,
        Device(a.node, a.vehicle_id),
        Change("province", province.id, "u", clock.tick(), {"name": "Renamed"}),
        Change("user", user.id, "u", clock.tick(), {"role": "administrator"}),
    )
    reasons = sorted(reason for _, reason in held)
    assert reasons[0].startswith("accounts made at head office")
    assert reasons[1].startswith("province is reference data")
    with net.hub_engine.connect() as connection:
        role = connection.execute(text("SELECT role FROM user WHERE id = :i"), {"i": user.id})
        assert role.scalar() == "nurse"


def test_a_device_cannot_speak_for_another_node(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a = net.edge("A")
    impostor = HybridLogicalClock("hub")
    change = route_change(impostor, a.vehicle_id)
    held = push(net, Device(a.node, a.vehicle_id), change)
    assert [reason for _, reason in held] == ["a device may only create rows as itself"]
    assert count(net.hub_engine, "SELECT count(*) FROM route") == 0


def test_the_changes_behind_a_refused_one_still_apply(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    clock = HybridLogicalClock(a.node)
    held = push(
        net,
        Device(a.node, a.vehicle_id),
        route_change(clock, b.vehicle_id),
        route_change(clock, a.vehicle_id),
    )
    assert len(held) == 1
    assert (
        count(net.hub_engine, "SELECT count(*) FROM route WHERE vehicle_id = :v", v=a.vehicle_id)
        == 1
    )


def stop_change(clock: HybridLogicalClock, vehicle_id: str, route_id: str) -> Change:
    now = utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    values = {
        "route_id": route_id,
        "vehicle_id": vehicle_id,
        "location_id": new_id(),  # no such place
        "sequence": 1,
        "arrival_at": now,
        "departure_at": now,
    }
    return Change("route_stop", new_id(), "i", clock.tick(), values, origin=clock.node)


def test_a_change_the_database_refuses_is_held_alone(sync_net: Callable[[], Net]) -> None:
    """The batch goes in whole first; when the database refuses it, it is applied again a
    change at a time so that only the change at fault is held, with the database's word."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    good = [route_change(clock, a.vehicle_id) for _ in range(3)]
    orphan = stop_change(clock, a.vehicle_id, good[0].row_id)
    held = push(net, Device(a.node, a.vehicle_id), *good, orphan)
    assert [change.row_id for change, _ in held] == [orphan.row_id]
    assert held[0][1].startswith("the database refused it")
    assert count(net.hub_engine, "SELECT count(*) FROM route") == 3
    assert count(net.hub_engine, "SELECT count(*) FROM route_stop") == 0
    logged = "SELECT count(*) FROM sync_change WHERE table_name = 'route' AND node = :n"
    assert count(net.hub_engine, logged, n=a.node) == 3  # the first attempt left nothing


def test_a_batch_is_applied_in_a_few_statements(sync_net: Callable[[], Net]) -> None:
    """Rows are read and written a table at a time, not a change at a time: the statement
    count does not grow with the batch."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    device = Device(a.node, a.vehicle_id)
    statements: list[str] = []

    def counted(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    event.listen(net.hub_engine, "before_cursor_execute", counted)
    try:
        push(net, device, *[route_change(clock, a.vehicle_id) for _ in range(5)])
        few = len(statements)
        statements.clear()
        push(net, device, *[route_change(clock, a.vehicle_id) for _ in range(200)], after=1000)
        many = len(statements)
    finally:
        event.remove(net.hub_engine, "before_cursor_execute", counted)
    assert count(net.hub_engine, "SELECT count(*) FROM route") == 205
    assert many == few


def test_a_row_named_twice_in_a_batch_applies_in_order(sync_net: Callable[[], Net]) -> None:
    """A forged batch may name a row twice; the second change must see the first applied."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    created = route_change(clock, a.vehicle_id)
    renamed = Change(
        "route", created.row_id, "u", clock.tick(), {"name": "renamed"}, origin=clock.node
    )
    held = push(net, Device(a.node, a.vehicle_id), created, renamed)
    assert held == []
    name = "SELECT name FROM route WHERE id = :i"
    with net.hub_engine.connect() as connection:
        assert connection.execute(text(name), {"i": created.row_id}).scalar() == "renamed"
