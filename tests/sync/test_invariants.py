"""The sync invariants as properties, each checked for itself (docs/sync-protocol.md,
section 10), not through the replicas merely agreeing: agreeing replicas could all hold
the wrong value."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from common.database import new_session
from schema.models import Patient, Province
from sync import signing
from sync.change import Change
from sync.clock import HybridLogicalClock, Version, wall_millis
from sync.edge import EdgeSync
from sync.hub import Device
from sync.transport import SyncError
from tests.support import rows
from tests.support.convergence import skew_clock
from tests.support.sync import Net, count, enroll, table_rows
from tests.sync.test_apply import push, request_change
from tests.sync.test_protocol import register, visit


def held_by_both(net: Net) -> tuple[str, object, object]:
    """A patient registered on A and booked on B's route: both vehicles hold it."""
    a, b = net.edge("A"), net.edge("B")
    [patient_id] = register(a)
    a.sync()
    with new_session(net.hub_engine) as session, session.begin():
        visit(session, session.get_one(Patient, patient_id), b.vehicle_id)
    b.sync()
    return patient_id, a, b


@pytest.mark.parametrize("order", ["newer first", "older first"])
def test_the_older_version_never_wins_whatever_the_order_it_arrives_in(
    sync_net: Callable[[], Net], order: str
) -> None:
    """Invariant 8: of two edits of one field, the greater version wins at the hub and
    on every replica, whichever arrives last."""
    net = sync_net()
    patient_id, a, b = held_by_both(net)
    now = wall_millis()
    older = Change("patient", patient_id, "u", str(Version(now, 0, a.node)), {"phone": "111"})
    newer = Change("patient", patient_id, "u", str(Version(now + 5, 0, b.node)), {"phone": "222"})
    sent = [(b, newer), (a, older)] if order == "newer first" else [(a, older), (b, newer)]
    for edge, change in sent:
        assert push(net, Device(edge.node, edge.vehicle_id), change) == []
    [row] = table_rows(net.hub_engine, "patient")
    assert row["phone"] == "222"
    a.sync(), b.sync()
    for engine in (a.engine, b.engine):
        assert [r["phone"] for r in table_rows(engine, "patient")] == ["222"]


def test_a_delete_is_never_undone_by_a_concurrent_later_edit(sync_net: Callable[[], Net]) -> None:
    """Invariant: deletes win. One laptop of a vehicle deletes a row while the other,
    not yet told, edits it at a later version: the row stays deleted everywhere."""
    net = sync_net()
    a = net.edge("A")
    twin = Device("d00000000twin", a.vehicle_id)
    enroll(net.hub_engine, twin.id, a.vehicle_id)
    made = request_change(HybridLogicalClock(a.node), a.vehicle_id)
    assert push(net, Device(a.node, a.vehicle_id), made) == []
    later = wall_millis() + 10_000
    deleted = Change("supply_request", made.row_id, "d", str(Version(later, 0, a.node)))
    edited = Change(
        "supply_request", made.row_id, "u", str(Version(later + 1, 0, twin.id)), {"reason": "x"}
    )
    assert push(net, Device(a.node, a.vehicle_id), deleted) == []
    assert push(net, twin, edited) == []
    assert table_rows(net.hub_engine, "supply_request") == []
    tombstone = "SELECT deleted FROM sync_clock WHERE row_id = :r"
    with net.hub_engine.connect() as connection:
        assert connection.execute(text(tombstone), {"r": made.row_id}).scalar() == deleted.version


def test_an_edge_keeps_its_unsent_list_edit_over_a_pulled_one(sync_net: Callable[[], Net]) -> None:
    """An edge does not take a pulled change to a list (allergies) while it has unsent
    edits of that list; after its push the hub's merge of both reaches it."""
    net = sync_net()
    patient_id, a, b = held_by_both(net)
    with new_session(b.engine) as session, session.begin():
        session.get_one(Patient, patient_id).allergies = ["sulfa"]
    b.sync()  # the hub holds B's list
    with new_session(a.engine) as session, session.begin():
        session.get_one(Patient, patient_id).allergies = ["latex"]  # not sent yet
    # A pulls without pushing first (as an interrupted sync's pull would)
    applier = a.client._applier  # noqa: SLF001 - the pull's own applier, as the sync uses it
    with a.engine.begin() as connection:
        change = Change(
            "patient",
            patient_id,
            "u",
            str(Version(wall_millis() + 1000, 0, "hub")),
            {"allergies": ["sulfa"]},
        )
        applier(connection, a.node).apply([change])
    with new_session(a.engine) as session:
        assert session.get_one(Patient, patient_id).allergies == ["latex"]
    a.sync(), b.sync()
    merged = {
        tuple(sorted(r["allergies"])) for e in (a, b) for r in table_rows(e.engine, "patient")
    }
    assert merged == {("latex", "sulfa")}


def test_a_reply_not_signed_by_the_enrolled_hub_is_refused(sync_net: Callable[[], Net]) -> None:
    """The edge checks every receipt against the hub key it stored at enrollment: a reply
    signed otherwise (another hub, a man in the middle) is refused before anything of it
    is taken, and the laptop's marks do not move."""
    net = sync_net()
    a = net.edge("A")
    register(a)
    with new_session(net.hub_engine) as session, session.begin():
        rows.province(session, code="KZ")
    impostor = signing.public_key_text(signing.new_private_key())
    fooled = EdgeSync(a.engine, a.client.tables, a.transport, hub_key=impostor)
    link = "SELECT pushed_seq, pull_cursor FROM sync_link WHERE peer = 'hub'"
    with a.engine.connect() as connection:
        before = tuple(connection.execute(text(link)).one())
    with pytest.raises(SyncError, match="receipt does not verify"):
        fooled.run()
    with a.engine.connect() as connection:
        assert tuple(connection.execute(text(link)).one()) == before
    assert count(a.engine, "SELECT count(*) FROM province WHERE code = 'KZ'") == 0
    a.sync()  # the enrolled hub's reply is taken
    assert count(a.engine, "SELECT count(*) FROM province WHERE code = 'KZ'") == 1


def test_a_laptop_with_a_wrong_clock_still_syncs(sync_net: Callable[[], Net]) -> None:
    """A laptop whose clock is three days behind: its signed requests carry its estimate
    of the hub's time (the first refusal tells it), and its edits still order after
    what it has seen."""
    net = sync_net()
    a = net.edge("A")
    behind = -3 * 24 * 3600 * 1000
    a.client.wall = lambda: wall_millis() + behind  # what it signs requests by
    skew_clock(a, behind)  # and what it dates its edits by
    with new_session(net.hub_engine) as session, session.begin():
        session.add(Province(code="EC", name="Eastern Cape"))
    [patient_id] = register(a)
    assert a.sync().pushed > 0
    assert count(a.engine, "SELECT count(*) FROM province WHERE code = 'EC'") == 1
    assert count(net.hub_engine, "SELECT count(*) FROM patient WHERE id = :i", i=patient_id) == 1
    with new_session(a.engine) as session, session.begin():  # after what it pulled
        session.get_one(Patient, patient_id).phone = "+27820000003"
    a.sync()
    [row] = table_rows(net.hub_engine, "patient")
    assert row["phone"] == "+27820000003"
