"""Invariant 11: what a device pushes beyond its rights is quarantined at the hub, not
applied: reference data, another vehicle's rows, head-office accounts, and changes that
claim to be another node's. Batches are forged here, as a compromised laptop could."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from common.database import new_session
from schema.base import new_id, utcnow
from schema.models import Route
from sync.change import Change
from sync.clock import HybridLogicalClock
from sync.hub import Device
from sync.protocol import Batch, Request
from tests.support import rows
from tests.support.sync import Net, count


def push(net: Net, device: Device, *changes: Change) -> list[tuple[Change, str]]:
    batch = Batch(new_id().replace("-", ""), 0, 1000, list(changes))
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
