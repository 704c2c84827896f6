"""Batches as columns (protocol, section 5c): any list of changes comes back exactly, in
the grouped order both sides digest; an audit trail travels without the hashes the hub
can work out, and arrives byte for byte as the edge holds it, an altered record included
(the hub's verification still finds it); anything malformed is a ProtocolError."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

import schema
from common import audit
from common.audit import Entry, Who
from common.database import new_session, write_intent
from schema.models import AuditRecord
from sync import capture, chain, columnar, wire
from sync.change import Change, ProtocolError, materialize, own_entries
from sync.protocol import MAX_ACCEPTED_CHANGES, Batch, Request
from tests.support.sync import CHAINS, FaultyLink, Net, audit_trail, table_rows

TABLES = schema.synced_tables()
NURSE = Who("u-1", "sister", "nurse", "10.1.1.7", "tablet", None)

versions = st.from_regex(r"\A[0-9a-f]{16}@d[0-9]{3}\Z")
values = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.lists(st.integers())
changes = st.builds(
    Change,
    table=st.sampled_from(["patient", "visit", "vital_sign"]),
    row_id=st.uuids().map(str),
    op=st.sampled_from("iuds"),
    version=versions,
    values=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), values, max_size=4),
    versions=st.dictionaries(st.sampled_from(["a", "b"]), versions, max_size=2),
    prior=st.dictionaries(st.sampled_from(["a", "c"]), values, max_size=2),
    origin=st.none() | st.sampled_from(["d001", "d002"]),
)


def over_the_wire(data: Any) -> Any:
    return json.loads(json.dumps(data))


@given(st.lists(changes, max_size=30))
def test_any_changes_come_back_exactly_in_grouped_order(sent: list[Change]) -> None:
    back = columnar.decode(over_the_wire(columnar.encode(sent, CHAINS)), CHAINS, 100)
    assert [c.to_wire() for c in back] == [c.to_wire() for c in columnar.grouped(sent)]
    assert columnar.grouped(columnar.grouped(sent)) == columnar.grouped(sent)


def record(engine: Engine, count: int) -> None:
    for number in range(count):
        with write_intent(), new_session(engine) as session, session.begin():
            audit.append(session, NURSE, Entry("read", resource_id=f"r{number}"))


def pushed_groups(sent: list[bytes]) -> list[list[Any]]:
    """The audit groups of the batches in the request bodies `sent`."""
    batches = [wire.unpack(body)["batch"] for body in sent]
    groups = [group for batch in batches if batch for group in batch["columns"]]
    return [group for group in groups if group[0] == "audit_record"]


def column(group: list[Any], name: str) -> list[Any]:
    return group[columnar.HEAD + group[2].index(name)]


def test_an_audit_trail_travels_without_its_hashes_and_arrives_whole(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    edge = net.edge("A")
    link = FaultyLink(edge)  # with no fault: it keeps what is sent
    record(edge.engine, 40)
    edge.sync()
    [group] = pushed_groups(link.sent)
    assert column(group, "hash") == [None] * 40
    # the first record's predecessor went in an earlier batch (or is the chain's start)
    assert column(group, "prev_hash")[1:] == [None] * 39
    assert column(group, "prev_hash")[0] is not None
    mine = AuditRecord.__table__.c.origin_node == edge.node
    assert table_rows(net.hub_engine, "audit_record", mine) == table_rows(
        edge.engine, "audit_record", mine
    )
    with new_session(net.hub_engine) as session:
        report = audit.verify_chain(session, edge.node)
    assert report.records >= 40 and report.broken is None


def test_an_altered_record_travels_as_it_is_and_the_hub_finds_the_break(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    edge = net.edge("A")
    link = FaultyLink(edge)
    record(edge.engine, 6)
    with edge.engine.begin() as connection:  # an attacker with the key edits the file
        capture.uninstall(connection, [AuditRecord.__table__])
        altered = connection.execute(
            text("SELECT id, chain_seq FROM audit_record ORDER BY chain_seq DESC LIMIT 1 OFFSET 2")
        ).one()
        connection.execute(
            text("UPDATE audit_record SET action = 'nothing' WHERE id = :id"), {"id": altered.id}
        )
        capture.install(connection, [AuditRecord.__table__])
    edge.sync()
    [group] = pushed_groups(link.sent)
    hashes = dict(zip(group[3], column(group, "hash"), strict=True))
    assert hashes[altered.id] is not None  # its hash no longer derives: sent as it is
    assert [h for i, h in hashes.items() if i != altered.id] == [None] * 5
    mine = AuditRecord.__table__.c.origin_node == edge.node
    assert table_rows(net.hub_engine, "audit_record", mine) == table_rows(
        edge.engine, "audit_record", mine
    )
    with new_session(net.hub_engine) as session:
        report = audit.verify_chain(session, edge.node)
    assert report.broken is not None and report.broken.seq == altered.chain_seq
    assert "altered" in report.broken.reason


def test_an_audit_batch_is_much_smaller_as_columns(sync_net: Callable[[], Net]) -> None:
    net = sync_net()
    edge = net.edge("A")
    record(edge.engine, 200)
    with edge.engine.connect() as connection:
        entries = own_entries(connection, edge.node, 0, 1_000)
        batch = Batch("b" * 16, 0, entries[-1].seq, materialize(connection, TABLES, entries))
    assert len(batch.changes) >= 200
    as_rows = len(wire.pack(batch.to_wire()))
    as_columns = len(wire.pack(batch.to_wire(CHAINS)))
    assert as_columns < 0.5 * as_rows, (as_columns, as_rows)


def test_derived_values_need_a_chain_an_empty_slot_and_a_predecessor() -> None:
    good = over_the_wire(columnar.encode(audit_trail(3), CHAINS))
    assert [c.values["hash"] for c in columnar.decode(copy.deepcopy(good), CHAINS, 10)] == [
        c.values["hash"] for c in audit_trail(3)
    ]
    with pytest.raises(ProtocolError, match="without a chain"):
        columnar.decode(copy.deepcopy(good), {}, 10)
    sent_anyway = copy.deepcopy(good)
    column(sent_anyway[0], "hash")[1] = "f" * 64
    with pytest.raises(ProtocolError, match="derived value was sent"):
        columnar.decode(sent_anyway, CHAINS, 10)
    no_predecessor = copy.deepcopy(good)
    no_predecessor[0][8][0] = chain.LINK | chain.DIGEST
    column(no_predecessor[0], "prev_hash")[0] = None
    with pytest.raises(ProtocolError, match="no predecessor"):
        columnar.decode(no_predecessor, CHAINS, 10)
    twice = copy.deepcopy(good)
    column(twice[0], "chain_seq")[2] = 2
    with pytest.raises(ProtocolError, match="one place"):
        columnar.decode(twice, CHAINS, 10)
    for mark in (True, 4, -1, "1", 1.0):
        bad = copy.deepcopy(good)
        bad[0][8][1] = mark
        with pytest.raises(ProtocolError, match="mark"):
            columnar.decode(bad, CHAINS, 10)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda groups: {"not": "a list"},
        lambda groups: [["patient"]],
        lambda groups: [[*groups[0][:2], "columns", *groups[0][3:]]],
        lambda groups: [[*groups[0][:2], [1, 2], *groups[0][3:]]],
        lambda groups: [[*groups[0][:2], ["action", "action"], *groups[0][3:]]],
        lambda groups: [[*groups[0][:3], groups[0][3][:1], *groups[0][4:]]],
        lambda groups: [[*groups[0][:6], [None], *groups[0][7:]]],
        lambda groups: [[*groups[0][:-1]]],
        lambda groups: [[*groups[0][:3], ["x" * 40] * 3, *groups[0][4:]]],
    ],
)
def test_a_malformed_group_is_a_protocol_error(mutate: Callable[[Any], Any]) -> None:
    good = over_the_wire(columnar.encode(audit_trail(3), CHAINS))
    with pytest.raises(ProtocolError):
        columnar.decode(mutate(good), CHAINS, 10)


def test_a_batch_over_the_accepted_size_is_refused_before_it_is_built() -> None:
    many = [
        Change("visit", f"v{n}", "u", "0" * 16 + "@d001", {"stage": "nursing"})
        for n in range(MAX_ACCEPTED_CHANGES + 1)
    ]
    batch = Batch("b" * 16, 0, len(many), many)
    message = over_the_wire(Request(batch, 0, True, 1).to_wire(CHAINS))
    with pytest.raises(ProtocolError, match="too many"):
        Request.from_wire(message, CHAINS)


def test_the_hub_answers_a_version_1_edge_in_rows(sync_net: Callable[[], Net]) -> None:
    """A laptop not upgraded yet sends its batch as rows and reads its pull as rows."""
    net = sync_net()
    edge = net.edge("A")
    change = Change("visit", "v-old", "u", "0" * 16 + f"@{edge.node}", {"stage": "nursing"})
    old = Request(Batch("c" * 16, 0, 1, [change]), 0, True, 1, version=1).to_wire(CHAINS)
    assert "changes" in old["batch"] and old["v"] == 1
    reply = wire.unpack(edge.transport.exchange(wire.pack(old), 1))
    assert reply["v"] == 1 and "changes" in reply["pull"] and "columns" not in reply["pull"]
    assert reply["ack"]["through"] == 1
