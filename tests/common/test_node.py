"""The node row is read once per transaction, yet never served stale across one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event, update

from common.database import new_session
from common.node import this_node, this_node_id
from schema.models import SyncNode
from tests.conftest import EDGE_NODE_ID


@contextmanager
def node_reads(engine: Engine) -> Iterator[list[str]]:
    """The statements that read `sync_node` while the block runs."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "FROM sync_node" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_transaction_reads_the_node_once(edge_engine: Engine) -> None:
    with new_session(edge_engine) as session, session.begin(), node_reads(edge_engine) as seen:
        first = this_node(session)
        assert first is not None and first.id == EDGE_NODE_ID
        assert this_node(session) is first
        assert this_node_id(session) == EDGE_NODE_ID
    assert len(seen) == 1


def test_the_id_needs_no_read_once_known_even_after_a_commit(edge_engine: Engine) -> None:
    with new_session(edge_engine) as session:
        with session.begin():
            this_node(session)
        with session.begin(), node_reads(edge_engine) as seen:
            assert this_node_id(session) == EDGE_NODE_ID
    assert seen == []


def test_a_change_made_elsewhere_is_seen_in_the_next_transaction(edge_engine: Engine) -> None:
    session = new_session(edge_engine)
    session.expire_on_commit = True  # as Flask-SQLAlchemy's request sessions are
    with session:
        with session.begin():
            node = this_node(session)
            assert node is not None and node.vehicle_id is None
        with new_session(edge_engine) as other, other.begin():
            other.execute(
                update(SyncNode).values(vehicle_id="0190d1a0-0000-7000-8000-0000000000aa")
            )
        with session.begin():
            node = this_node(session)
            assert node is not None
            assert node.vehicle_id == "0190d1a0-0000-7000-8000-0000000000aa"
