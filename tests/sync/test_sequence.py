"""Invariant 13: commit_seq follows commit order, so a pull never skips a change that
committed after a change with a higher insert sequence."""

from __future__ import annotations

from sqlalchemy import Engine, select

from common.database import new_session
from schema.models import SyncChange
from sync.sequence import visible_through
from tests.support import rows


def test_commit_order_not_insert_order(hub_engine: Engine) -> None:
    early = new_session(hub_engine)
    late = new_session(hub_engine)
    first = rows.patient(early, first_name="Early")  # inserted first, commits last
    second = rows.patient(late, first_name="Late")
    late.commit()
    with hub_engine.connect() as conn:
        assert visible_through(conn) == 1
    early.commit()
    with new_session(hub_engine) as session:
        log = {c.row_id: c for c in session.scalars(select(SyncChange))}
    assert log[first.id].seq < log[second.id].seq
    assert log[first.id].commit_seq > log[second.id].commit_seq
    with hub_engine.connect() as conn:
        assert visible_through(conn) == 2
    early.close()
    late.close()


def test_every_committed_change_gets_a_commit_seq(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        for _ in range(5):
            rows.patient(session)
    with new_session(engine) as session:
        seqs = sorted(session.scalars(select(SyncChange.commit_seq)))
    assert len(seqs) == 5 and None not in seqs
    assert len(set(seqs)) == 5
    with engine.connect() as conn:
        assert visible_through(conn) == max(seqs)
