"""The edge holds SQLite's write lock only briefly while it syncs: it reads its own
changes for a push batch outside the lock, and applies a pulled batch in slices, each
its own transaction. A crash between slices loses and doubles nothing, and the crew's
writes commit meanwhile. Hub on MySQL, edges on SQLCipher."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

import schema
from common.database import new_session, sqlcipher_connect
from sync.edge import EdgeSync
from tests.support import rows
from tests.support.sync import Crash, Edge, Net, count, table_rows
from tests.sync.test_protocol import visit

PATIENTS = 12  # and a visit each: 24 changes, pulled in slices of 5
SLICE = 5
REFUSED = "Refused3"  # the edge's database refuses this patient (`refuse_one_patient`)


def head_office_registers(net: Net, vehicle_id: str) -> None:
    """Patients registered at head office with a visit on the vehicle, so its sync pulls
    them; each visit refers to a patient in the same pull."""
    with new_session(net.hub_engine) as session, session.begin():
        for n in range(PATIENTS):
            name = REFUSED if n == 3 else f"P{n}"
            patient = rows.patient(session, first_name=name, registered_vehicle_id=vehicle_id)
            visit(session, patient, vehicle_id)


def sliced(edge: Edge, between: Callable[[], None]) -> EdgeSync:
    """The edge's sync client with small slices and `between` run between them."""
    client = edge.client
    return EdgeSync(
        edge.engine,
        schema.synced_tables(),
        client.transport,
        hub_key=client.hub_key,
        slice_changes=SLICE,
        between_slices=between,
    )


def refuse_one_patient(engine: Engine) -> None:
    """A database refusal on this edge alone, so the pull quarantines a change (and its
    visit, whose patient is missing) and the quarantine is part of what must not double."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON patient "
                "WHEN NEW.first_name = 'Refused3' BEGIN SELECT RAISE(ABORT, 'refused here'); END"
            )
        )


def pull_cursor(engine: Engine) -> int:
    return count(engine, "SELECT pull_cursor FROM sync_link WHERE peer = 'hub'")


def logged_twice(engine: Engine) -> int:
    return count(
        engine,
        "SELECT count(*) FROM (SELECT table_name, row_id, version FROM sync_change "
        "GROUP BY table_name, row_id, version HAVING count(*) > 1) AS twice",
    )


def quarantine(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        held = connection.execute(
            text(
                "SELECT table_name, row_id FROM sync_quarantine WHERE resolved_at IS NULL "
                "ORDER BY table_name, row_id"
            )
        )
        return [tuple(row) for row in held]


def test_a_pull_interrupted_between_slices_resumes_to_the_rows_of_an_uninterrupted_one(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    whole = net.edge("A")
    cut = net.edge("B", whole.vehicle_id)  # a second laptop of the same vehicle
    for edge in (whole, cut):
        refuse_one_patient(edge.engine)
    head_office_registers(net, whole.vehicle_id)
    whole.sync()
    before = pull_cursor(cut.engine)
    slices = [0]

    def crash_after_two() -> None:
        slices[0] += 1
        if slices[0] == 2:
            raise Crash("killed between slices")

    with pytest.raises(Crash):
        sliced(cut, crash_after_two).run()
    applied = count(cut.engine, "SELECT count(*) FROM patient")
    assert 0 < applied < PATIENTS - 1, "two slices, parents first, should be on disk"
    assert pull_cursor(cut.engine) == before
    cut = net.restart(cut)
    cut.sync()
    for name in ("patient", "visit"):
        assert table_rows(cut.engine, name) == table_rows(whole.engine, name)
    assert count(cut.engine, "SELECT count(*) FROM patient") == PATIENTS - 1
    assert quarantine(cut.engine) == quarantine(whole.engine)
    assert len(quarantine(cut.engine)) == 2  # the refused patient and its visit, once each
    assert logged_twice(cut.engine) == 0
    pulled = "SELECT count(*) FROM sync_change WHERE node <> :n"
    assert count(cut.engine, pulled, n=cut.node) == count(whole.engine, pulled, n=whole.node)
    assert pull_cursor(cut.engine) == pull_cursor(whole.engine) > before


def test_a_crew_write_commits_between_the_slices_of_a_large_pull(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    edge = net.edge("A")
    head_office_registers(net, edge.vehicle_id)
    before = pull_cursor(edge.engine)
    crew = net.reopen(edge.engine)  # the web server's own engine on the same file
    seen: list[tuple[int, int, float]] = []

    def crew_registers_a_patient() -> None:
        if seen:
            return
        started = time.monotonic()
        with new_session(crew) as session, session.begin():
            rows.patient(session, first_name="Walk-in")
        took = time.monotonic() - started
        seen.append((count(crew, "SELECT count(*) FROM patient"), pull_cursor(crew), took))

    sliced(edge, crew_registers_a_patient).run()
    patients, cursor, took = seen[0]
    assert 1 < patients < PATIENTS, "the crew's patient beside a pull applied in part"
    assert cursor == before, "the pull was still being applied"
    assert took < 1.0
    walk_in = "SELECT count(*) FROM patient WHERE first_name = 'Walk-in'"
    assert count(edge.engine, walk_in) == 1
    assert count(edge.engine, "SELECT count(*) FROM patient") == PATIENTS + 1
    edge.sync()
    assert count(net.hub_engine, walk_in) == 1


def test_the_crew_can_write_while_the_push_batch_is_read(
    sync_net: Callable[[], Net], edge_key: bytes
) -> None:
    net = sync_net()
    edge = net.edge("A")
    with new_session(edge.engine) as session, session.begin():
        for n in range(5):
            rows.patient(session, first_name=f"Early{n}")
    crew = net.reopen(edge.engine)
    probe = sqlcipher_connect(str(edge.engine.url.database), edge_key)
    probe.execute("PRAGMA busy_timeout = 0")  # fails at once if the sync holds the lock
    wrote: list[str] = []

    def crew_writes(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if wrote or "ORDER BY seq LIMIT" not in statement:
            return  # only while the first push batch's entries are read
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        with new_session(crew) as session, session.begin():
            wrote.append(rows.patient(session, first_name="Meanwhile").id)

    event.listen(edge.engine, "before_cursor_execute", crew_writes)
    try:
        result = edge.sync()
    finally:
        event.remove(edge.engine, "before_cursor_execute", crew_writes)
        probe.close()
    assert wrote, "the push batch was never read"
    assert result.pushed == 5  # what the batch's snapshot held: the crew's patient goes next
    assert edge.sync().pushed == 1
    assert table_rows(net.hub_engine, "patient") == table_rows(edge.engine, "patient")
    assert count(net.hub_engine, "SELECT count(*) FROM patient WHERE id = :i", i=wrote[0]) == 1
