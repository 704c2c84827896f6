"""Invariant 11 and the authority table (protocol, section 3a): what a device pushes
beyond its rights is quarantined at the hub with its reason and changes nothing, decided
from the hub's own records, never from what the device says. Batches are forged here, as
a stolen laptop with its own valid device key could send them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, select, text

from common.database import new_session
from common.node import HUB_NODE_ID
from schema.base import new_id, utcnow
from schema.models import Claim, ClaimLine, Patient, Supplier, SupplyRequest, Visit
from sync.change import Change
from sync.clock import HybridLogicalClock, Version, wall_millis
from sync.hub import Device
from sync.protocol import Batch, Request
from tests.support import rows
from tests.support.sync import Edge, Net, count, enroll, table_rows
from tests.support.tables import digest, moved
from tests.sync.test_protocol import register, visit

HOUR_MS = 3600 * 1000
# What an exchange may change at the hub even when it applies nothing: its bookkeeping.
BOOKKEEPING = (
    "sync_link",
    "sync_batch",
    "sync_quarantine",
    "sync_inbox",
    "sync_counter",
    "sync_node",
    "device",
)


def push(
    net: Net, device: Device, *changes: Change, after: int | None = None
) -> list[tuple[Change, str]]:
    """Send `changes` as the device's next batch (numbered after what the hub holds)."""
    if after is None:
        held = "SELECT coalesce(max(pushed_seq), 0) FROM sync_link WHERE peer = :p"
        after = count(net.hub_engine, held, p=device.id)
    batch = Batch(new_id().replace("-", ""), after, after + 1000, list(changes))
    reply = net.hub.exchange(device, Request(batch, 0, False, 0))
    return reply.quarantined


def device_of(edge: Edge) -> Device:
    return Device(edge.node, edge.vehicle_id)


def stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_change(
    clock: HybridLogicalClock, vehicle_id: str, row_id: str | None = None, reason: str = "forged"
) -> Change:
    """A new supply request of `vehicle_id` (a vehicle's own, shared row), made by `clock`."""
    values = {
        "vehicle_id": vehicle_id,
        "priority": "normal",
        "reason": reason,
        "status": "pending",
        "requested_by": "x",
        "created_at": stamp(utcnow()),
        "decided_by": None,
        "decided_at": None,
    }
    return Change(
        "supply_request", row_id or new_id(), "i", clock.tick(), values, origin=clock.node
    )


def update(clock: HybridLogicalClock, table: str, row_id: str, **values: Any) -> Change:
    return Change(table, row_id, "u", clock.tick(), values)


def hub_request(net: Net, vehicle_id: str) -> str:
    """A supply request head office made for the vehicle."""
    with new_session(net.hub_engine) as session, session.begin():
        row = SupplyRequest(
            vehicle_id=vehicle_id,
            priority="normal",
            status="pending",
            requested_by="head-office",
            created_at=utcnow(),
        )
        session.add(row)
    return row.id


def reasons(held: list[tuple[Change, str]]) -> list[str]:
    return [reason for _, reason in held]


def test_rows_of_another_vehicle_are_refused(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    clock = HybridLogicalClock(a.node)
    held = push(net, device_of(a), request_change(clock, b.vehicle_id))
    assert reasons(held) == ["this row belongs to another vehicle"]
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == 0


def test_moving_a_row_to_another_vehicle_is_refused(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    theirs = hub_request(net, b.vehicle_id)
    clock = HybridLogicalClock(a.node)
    held = push(net, device_of(a), update(clock, "supply_request", theirs, vehicle_id=a.vehicle_id))
    assert reasons(held) == ["this row belongs to another vehicle"]
    mine = "SELECT count(*) FROM supply_request WHERE vehicle_id = :v"
    assert count(net.hub_engine, mine, v=b.vehicle_id) == 1


def head_office_changes(net: Net, a: Edge) -> list[Change]:
    """One forged change of each kind of head-office data, all about A itself."""
    clock = HybridLogicalClock(a.node)
    with new_session(net.hub_engine) as session, session.begin():
        province = rows.province(session, code="NW")
    from common.users import create_user

    with new_session(net.hub_engine) as session, session.begin():
        nurse = create_user(
            session,
            username="hq.nurse",
            full_name="HQ Nurse",
            role="nurse",
            password="Correct-Horse-9",
            vehicle_ids=[a.vehicle_id],
        )
    now = stamp(utcnow())
    route = {
        "vehicle_id": a.vehicle_id,
        "route_date": "2026-12-02",
        "name": "own plan",
        "status": "planned",
        "created_by": "x",
        "created_at": now,
    }
    place = {
        "province_id": province.id,
        "name": "Forged Hall",
        "address": None,
        "latitude": None,
        "longitude": None,
    }
    link = {"user_id": nurse.id, "vehicle_id": a.vehicle_id}
    origin = clock.node
    return [
        update(clock, "province", province.id, name="Renamed"),
        update(clock, "user", nurse.id, role="administrator"),
        update(clock, "vehicle", a.vehicle_id, practice_number="0000000"),
        Change("route", new_id(), "i", clock.tick(), route, origin=origin),
        Change("location", new_id(), "i", clock.tick(), place, origin=origin),
        Change("user_vehicle", new_id(), "i", clock.tick(), link, origin=origin),
        Change("province", province.id, "d", clock.tick()),
    ]


def test_head_office_data_is_refused_whatever_the_operation(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a = net.edge("A")
    forged = head_office_changes(net, a)
    before = digest(net.hub_engine, ignore=BOOKKEEPING)
    held = push(net, device_of(a), *forged)
    assert sorted(reasons(held)) == sorted(
        "accounts are changed only where they were made (head office)"
        if change.table == "user"
        else f"{change.table} is head-office data, changed only at head office"
        for change in forged
    )
    assert moved(before, digest(net.hub_engine, ignore=BOOKKEEPING)) == []


def test_a_device_cannot_speak_for_another_node(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    as_hub = request_change(HybridLogicalClock(HUB_NODE_ID), a.vehicle_id)
    as_twin = request_change(HybridLogicalClock(b.node), a.vehicle_id)
    mixed = request_change(HybridLogicalClock(a.node), a.vehicle_id)
    mixed.version = HybridLogicalClock(b.node).tick()  # the origin says A, the version B
    held = push(net, device_of(a), as_hub, as_twin, mixed)
    assert reasons(held) == ["a device may only send changes made on it"] * 3
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == 0


def test_a_column_version_of_another_node_is_not_applied(sync_net: Callable[[], Net]) -> None:
    """An update may carry another node's version for a column (a pull overwrote it
    before the push): that column is held, the device's own columns apply."""
    net = sync_net()
    a = net.edge("A")
    [patient_id] = register(a)
    a.sync()
    clock = HybridLogicalClock(a.node)
    change = update(clock, "patient", patient_id, phone="+27820000009", language="Sesotho")
    change.versions = {"language": str(Version(wall_millis() + 1000, 0, HUB_NODE_ID))}
    assert push(net, device_of(a), change) == []
    [row] = table_rows(net.hub_engine, "patient")
    assert row["phone"] == "+27820000009" and row["language"] != "Sesotho"


def test_a_device_deletes_only_rows_made_on_its_vehicle(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a = net.edge("A")
    twin = Device("d00000000twin", a.vehicle_id)  # a second laptop of the same vehicle
    enroll(net.hub_engine, twin.id, a.vehicle_id)
    clock, twin_clock = HybridLogicalClock(a.node), HybridLogicalClock(twin.id)
    made_here = request_change(clock, a.vehicle_id)
    assert push(net, device_of(a), made_here) == []
    by_head_office = hub_request(net, a.vehicle_id)
    held = push(
        net,
        twin,
        Change("supply_request", by_head_office, "d", twin_clock.tick()),
        Change("supply_request", made_here.row_id, "d", twin_clock.tick()),
    )
    assert reasons(held) == ["a device may delete only rows made on its vehicle"]
    left = table_rows(net.hub_engine, "supply_request")
    assert [row["id"] for row in left] == [by_head_office]


def test_a_delete_of_a_row_the_hub_does_not_hold_changes_nothing(
    sync_net: Callable[[], Net],
) -> None:
    """No device can tombstone ahead of time a row another vehicle has not sent yet."""
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    theirs = request_change(HybridLogicalClock(b.node), b.vehicle_id)
    assert (
        push(
            net,
            device_of(a),
            Change("supply_request", theirs.row_id, "d", HybridLogicalClock(a.node).tick()),
        )
        == []
    )
    assert count(net.hub_engine, "SELECT count(*) FROM sync_clock WHERE deleted IS NOT NULL") == 0
    assert push(net, device_of(b), theirs) == []
    assert [row["id"] for row in table_rows(net.hub_engine, "supply_request")] == [theirs.row_id]


def test_a_device_writes_only_patients_its_vehicle_holds(sync_net: Callable[[], Net]) -> None:
    """Refused for good: once the vehicle holds the patient, its device's edits apply,
    and the forged ones made before still do not."""
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    [patient_id] = register(b)
    b.sync()
    stolen = Device("d00000000twin", a.vehicle_id)  # another laptop of vehicle A
    enroll(net.hub_engine, stolen.id, a.vehicle_id)
    clock = HybridLogicalClock(stolen.id)
    before = digest(net.hub_engine, ignore=BOOKKEEPING)
    held = push(
        net,
        stolen,
        update(clock, "patient", patient_id, last_name="Forged"),
        Change("patient", patient_id, "d", clock.tick()),
    )
    assert sorted(reasons(held)) == [
        "a device may delete only rows made on its vehicle",
        "this patient is not held by this vehicle; head office decides who holds them",
    ]
    assert moved(before, digest(net.hub_engine, ignore=BOOKKEEPING)) == []
    a.sync()
    assert count(a.engine, "SELECT count(*) FROM patient") == 0  # nor sent to A after
    with new_session(net.hub_engine) as session, session.begin():  # booked on A's route
        visit(session, session.get_one(Patient, patient_id), a.vehicle_id)
    a.sync()  # the hub subscribes A to the patient and sends them
    assert count(a.engine, "SELECT count(*) FROM patient") == 1
    with new_session(a.engine) as session, session.begin():
        session.get_one(Patient, patient_id).phone = "+27820000001"
    a.sync()
    push(net, stolen)  # its next batch retries what waits in quarantine: not these
    [row] = table_rows(net.hub_engine, "patient")
    assert row["phone"] == "+27820000001" and row["last_name"] != "Forged"


def test_a_row_refers_only_to_its_vehicles_rows_and_the_patients_it_holds(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    [theirs] = register(b)
    b.sync()
    [their_visit] = table_rows(net.hub_engine, "visit")
    [mine] = register(a)
    a.sync()
    [my_visit] = [row for row in table_rows(net.hub_engine, "visit") if row["patient_id"] == mine]
    clock = HybridLogicalClock(a.node)
    fields = {k: v for k, v in their_visit.items() if k not in ("id", "origin_node", "version")}
    for_their_patient = {**fields, "vehicle_id": a.vehicle_id}
    note = {
        "visit_id": their_visit["id"],
        "patient_id": mine,
        "vehicle_id": a.vehicle_id,
        "author_id": "x",
        "stage": "nursing_assessment",
        "kind": "nursing",
        "body": "forged",
        "created_at": stamp(utcnow()),
    }
    before = digest(net.hub_engine, ignore=BOOKKEEPING)
    held = push(
        net,
        device_of(a),
        Change("visit", new_id(), "i", clock.tick(), for_their_patient, origin=a.node),
        Change("clinical_note", new_id(), "i", clock.tick(), note, origin=a.node),
        update(clock, "visit", my_visit["id"], patient_id=theirs),
    )
    assert sorted(reasons(held)) == [
        "patient_id names a patient this vehicle does not hold",
        "patient_id names a patient this vehicle does not hold",
        "visit_id names another vehicle's visit",
    ]
    assert moved(before, digest(net.hub_engine, ignore=BOOKKEEPING)) == []
    assert theirs not in {row["id"] for row in table_rows(a.engine, "patient")}


def test_head_office_columns_are_not_a_devices_to_set(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    [patient_id] = register(a)
    a.sync()
    clock = HybridLogicalClock(a.node)
    new_patient = table_rows(net.hub_engine, "patient")[0]
    fields = {k: v for k, v in new_patient.items() if k not in ("id", "origin_node", "version")}
    before = digest(net.hub_engine, ignore=BOOKKEEPING)
    held = push(
        net,
        device_of(a),
        update(clock, "patient", patient_id, member_status="active"),
        update(clock, "patient", patient_id, registered_vehicle_id=b.vehicle_id),
        Change(
            "patient",
            new_id(),
            "i",
            clock.tick(),
            {**fields, "member_status": "active"},
            origin=a.node,
        ),
        Change(
            "patient",
            new_id(),
            "i",
            clock.tick(),
            {**fields, "registered_vehicle_id": b.vehicle_id},
            origin=a.node,
        ),
    )
    assert sorted(reasons(held)) == [
        "a new row's registered_vehicle_id must be this vehicle",
        "member_status is set only at head office",
        "member_status is set only at head office",
        "registered_vehicle_id is set only at head office",
    ]
    assert moved(before, digest(net.hub_engine, ignore=BOOKKEEPING)) == []


def test_palmeds_answer_on_a_claim_is_head_offices_alone(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a = net.edge("A")
    [patient_id] = register(a)
    a.sync()
    [visit_row] = table_rows(net.hub_engine, "visit")
    clock = HybridLogicalClock(a.node)
    claim = {
        "visit_id": visit_row["id"],
        "patient_id": patient_id,
        "vehicle_id": a.vehicle_id,
        "member_number": None,
        "dependant_code": None,
        "practice_number": "0123456",
        "service_date": visit_row["visit_date"],
        "icd10_codes": ["J069"],
        "total_amount": "350.00",
        "status": "ready",
        "problems": [],
        "palmed_claim_id": None,
        "rejection_codes": [],
        "paid_amount": None,
        "created_by": "x",
        "created_at": stamp(utcnow()),
        "updated_at": stamp(utcnow()),
    }
    paid = Change("claim", new_id(), "i", clock.tick(), {**claim, "paid_amount": "350.00"})
    paid.origin = a.node
    honest = Change("claim", new_id(), "i", clock.tick(), claim, origin=a.node)
    assert reasons(push(net, device_of(a), paid)) == ["paid_amount is set only at head office"]
    assert push(net, device_of(a), honest) == []
    forged = update(clock, "claim", honest.row_id, status="paid", palmed_claim_id="PM-1")
    assert reasons(push(net, device_of(a), forged)) == [
        "palmed_claim_id is set only at head office"
    ]
    [row] = table_rows(net.hub_engine, "claim")
    assert row["status"] == "ready" and row["palmed_claim_id"] is None


def test_a_shared_row_is_changed_only_where_it_was_made(sync_net: Callable[[], Net]) -> None:
    """A supplier (seen by every vehicle) made at head office, or on another vehicle, is
    not a laptop's to change; its own is."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    with new_session(net.hub_engine) as session, session.begin():
        theirs = Supplier(name="Head Office Pharma")
        session.add(theirs)
    own = Change(
        "supplier",
        new_id(),
        "i",
        clock.tick(),
        {"name": "Local Pharmacy", "contact_name": None, "phone": None, "email": None},
        origin=a.node,
    )
    assert push(net, device_of(a), own) == []
    held = push(
        net,
        device_of(a),
        update(clock, "supplier", theirs.id, phone="+27820000000"),
        update(clock, "supplier", own.row_id, phone="+27820000001"),
    )
    assert reasons(held) == ["this supplier was made elsewhere and is changed only there"]
    phones = {row["name"]: row["phone"] for row in table_rows(net.hub_engine, "supplier")}
    assert phones == {"Head Office Pharma": None, "Local Pharmacy": "+27820000001"}


@pytest.mark.parametrize(("hours", "held"), [(2, False), (25, True)])
def test_a_change_dated_too_far_ahead_is_held_and_the_clock_stays(
    sync_net: Callable[[], Net], hours: int, held: bool
) -> None:
    net = sync_net()
    a = net.edge("A")
    ahead = HybridLogicalClock(a.node, lambda: wall_millis() + hours * HOUR_MS)
    floor = "SELECT hlc_floor FROM sync_node"
    with net.hub_engine.connect() as connection:
        before = connection.execute(text(floor)).scalar()
    refused = push(net, device_of(a), request_change(ahead, a.vehicle_id))
    assert reasons(refused) == (
        ["dated more than 24 h ahead of head office's clock"] if held else []
    )
    with net.hub_engine.connect() as connection:
        after = connection.execute(text(floor)).scalar()
    assert (after == before) is held
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == (0 if held else 1)


def test_a_change_held_for_its_date_applies_once_the_hub_reaches_it(
    sync_net: Callable[[], Net], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing a crew records is lost to a laptop clock a day fast: it waits."""
    net = sync_net()
    a = net.edge("A")
    ahead = HybridLogicalClock(a.node, lambda: wall_millis() + 30 * HOUR_MS)
    assert len(push(net, device_of(a), request_change(ahead, a.vehicle_id))) == 1
    monkeypatch.setattr("sync.rules.wall_millis", lambda: wall_millis() + 31 * HOUR_MS)
    push(net, device_of(a), request_change(HybridLogicalClock(a.node), a.vehicle_id))
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == 2


def test_an_emergency_account_arrives_and_stays_its_vehicles(sync_net: Callable[[], Net]) -> None:
    """A laptop's own account reaches head office (shown, with an alert) and the
    vehicle's laptops, and no other vehicle."""
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    from common.users import create_user

    with new_session(a.engine) as session, session.begin():
        made = create_user(
            session,
            username="sister.emergency",
            full_name="Sister Emergency",
            role="administrator",
            password="Correct-Horse-9",
        )
    assert a.sync().quarantined == 0
    alerts = table_rows(net.hub_engine, "alert")
    assert [(x["kind"], x["vehicle_id"], x["resource_id"]) for x in alerts] == [
        ("emergency_account", a.vehicle_id, made.id)
    ]
    twin = net.edge("A2", a.vehicle_id)
    assert count(twin.engine, "SELECT count(*) FROM user WHERE id = :i", i=made.id) == 1
    b.sync()
    assert count(b.engine, "SELECT count(*) FROM user WHERE id = :i", i=made.id) == 0


def test_the_changes_behind_a_refused_one_still_apply(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    clock = HybridLogicalClock(a.node)
    held = push(
        net,
        device_of(a),
        request_change(clock, b.vehicle_id),
        request_change(clock, a.vehicle_id),
    )
    assert len(held) == 1
    mine = "SELECT count(*) FROM supply_request WHERE vehicle_id = :v"
    assert count(net.hub_engine, mine, v=a.vehicle_id) == 1


def line_change(clock: HybridLogicalClock, vehicle_id: str, request_id: str) -> Change:
    values = {
        "supply_request_id": request_id,
        "vehicle_id": vehicle_id,
        "item_id": new_id(),  # no such item
        "quantity": 10,
    }
    return Change("supply_request_line", new_id(), "i", clock.tick(), values, origin=clock.node)


def test_a_change_the_database_refuses_is_held_alone(sync_net: Callable[[], Net]) -> None:
    """The batch goes in whole first; when the database refuses it, it is applied again a
    change at a time so that only the change at fault is held, with the database's word."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    good = [request_change(clock, a.vehicle_id) for _ in range(3)]
    orphan = line_change(clock, a.vehicle_id, good[0].row_id)
    held = push(net, device_of(a), *good, orphan)
    assert [change.row_id for change, _ in held] == [orphan.row_id]
    assert held[0][1].startswith("the database refused it")
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == 3
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request_line") == 0
    logged = "SELECT count(*) FROM sync_change WHERE table_name = 'supply_request' AND node = :n"
    assert count(net.hub_engine, logged, n=a.node) == 3  # the first attempt left nothing


def test_a_batch_is_applied_in_a_few_statements(sync_net: Callable[[], Net]) -> None:
    """Rows are read and written a table at a time, not a change at a time: the statement
    count does not grow with the batch."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    statements: list[str] = []

    def counted(_conn: object, _cursor: object, sql: str, *_args: object) -> None:
        statements.append(sql)

    event.listen(net.hub_engine, "before_cursor_execute", counted)
    try:
        push(net, device_of(a), *[request_change(clock, a.vehicle_id) for _ in range(5)], after=0)
        few = len(statements)
        statements.clear()
        push(
            net,
            device_of(a),
            *[request_change(clock, a.vehicle_id) for _ in range(200)],
            after=1000,
        )
        many = len(statements)
    finally:
        event.remove(net.hub_engine, "before_cursor_execute", counted)
    assert count(net.hub_engine, "SELECT count(*) FROM supply_request") == 205
    assert many == few


def test_a_row_named_twice_in_a_batch_applies_in_order(sync_net: Callable[[], Net]) -> None:
    """A forged batch may name a row twice; the second change must see the first applied."""
    net = sync_net()
    a = net.edge("A")
    clock = HybridLogicalClock(a.node)
    created = request_change(clock, a.vehicle_id)
    renamed = update(clock, "supply_request", created.row_id, reason="renamed")
    assert push(net, device_of(a), created, renamed) == []
    reason = "SELECT reason FROM supply_request WHERE id = :i"
    with net.hub_engine.connect() as connection:
        assert connection.execute(text(reason), {"i": created.row_id}).scalar() == "renamed"


def test_an_edge_holds_back_what_the_hub_dated_too_far_ahead(sync_net: Callable[[], Net]) -> None:
    """Bounded on both sides: a version far ahead of the hub's own time, however it got
    there, neither lands on the laptop nor moves the laptop's clock."""
    net = sync_net()
    a = net.edge("A")
    future = str(Version(wall_millis() + 30 * HOUR_MS, 0, HUB_NODE_ID))
    with net.hub_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO province (id, origin_node, version, code, name) "
                "VALUES (:id, 'hub', :v, 'ZZ', 'From the future')"
            ),
            {"id": new_id(), "v": future},
        )
    a.sync()
    assert count(a.engine, "SELECT count(*) FROM province") == 0
    held = "SELECT reason FROM sync_quarantine WHERE table_name = 'province'"
    assert (
        count(a.engine, "SELECT count(*) FROM sync_quarantine WHERE table_name = 'province'") == 1
    )
    with a.engine.connect() as connection:
        assert "ahead" in connection.execute(text(held)).scalar()
        floor = connection.execute(text("SELECT hlc_floor FROM sync_node")).scalar()
    assert floor is None or floor < future


def test_a_claim_with_palmed_is_head_offices_and_the_laptop_comes_back_to_it(
    sync_net: Callable[[], Net],
) -> None:
    """Finding: a reopen on the laptop, before it pulled the claim's fate, took back an
    accepted claim's lines at the hub. Once the hub has sent a claim, a laptop's change
    to it (or its lines) is refused for good, and the hub's claim comes back to it."""
    net = sync_net()
    a = net.edge("A")
    [patient_id] = register(a)
    with new_session(a.engine) as session, session.begin():
        [visit_row] = session.scalars(select(Visit)).all()
        claim = Claim(
            visit_id=visit_row.id,
            patient_id=patient_id,
            vehicle_id=a.vehicle_id,
            practice_number="0123456",
            service_date=visit_row.visit_date,
            icd10_codes=["J069"],
            total_amount=Decimal("350.00"),
            status="ready",
            problems=[],
            rejection_codes=[],
            created_by="x",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(claim)
        session.flush()
        line = ClaimLine(
            claim_id=claim.id,
            vehicle_id=a.vehicle_id,
            kind="consultation",
            code="0190",
            description="Consultation",
            quantity=1,
            unit_price=Decimal("350.00"),
            amount=Decimal("350.00"),
        )
        session.add(line)
    a.sync()
    with new_session(net.hub_engine) as session, session.begin():  # the hub sends it
        sent = session.get_one(Claim, claim.id)
        sent.status, sent.palmed_claim_id = "accepted", "PM-77"
    with new_session(a.engine) as session, session.begin():  # the laptop, not yet told
        session.get_one(Claim, claim.id).status = "withdrawn"
        session.delete(session.get_one(ClaimLine, line.id))
    a.sync()
    [at_hub] = table_rows(net.hub_engine, "claim")
    assert at_hub["status"] == "accepted" and at_hub["palmed_claim_id"] == "PM-77"
    assert [row["id"] for row in table_rows(net.hub_engine, "claim_line")] == [line.id]
    held = "SELECT reason FROM sync_quarantine WHERE final = :yes ORDER BY table_name"
    with net.hub_engine.connect() as connection:
        assert list(connection.scalars(text(held), {"yes": True})) == [
            "this claim is accepted: only head office changes it now",
            "its claim is accepted: only head office changes it now",
        ]
    a.sync()
    [on_laptop] = table_rows(a.engine, "claim")
    assert on_laptop["status"] == "accepted" and on_laptop["palmed_claim_id"] == "PM-77"
