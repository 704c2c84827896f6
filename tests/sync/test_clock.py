"""Invariant 3: versions from one clock strictly increase, survive a wall clock going
backwards, and order after every remote version the node has observed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from common.database import new_session, sqlcipher_engine
from schema.models import Patient
from sync.clock import HybridLogicalClock, Version, node_of, wall_millis
from sync.stamp import clock_for
from tests.support import rows


def test_versions_increase_while_the_wall_clock_goes_backwards() -> None:
    walls = iter([5_000, 5_000, 4_000, 3_000, 6_000])
    clock = HybridLogicalClock("d1", wall=lambda: next(walls))
    versions = [clock.tick() for _ in range(5)]
    assert versions == sorted(versions) and len(set(versions)) == 5
    assert Version.parse(versions[-1]).millis == 6_000


def test_a_local_change_orders_after_an_observed_remote_one() -> None:
    behind = HybridLogicalClock("d1", wall=lambda: 1_000)  # a laptop days behind
    ahead = HybridLogicalClock("d2", wall=lambda: 9_000_000)
    remote = ahead.tick()
    behind.observe(remote)
    assert behind.tick() > remote


@given(st.lists(st.integers(min_value=0, max_value=2**40), min_size=1, max_size=60))
def test_any_wall_clock_sequence_gives_strictly_increasing_versions(walls: list[int]) -> None:
    readings = iter(walls)
    clock = HybridLogicalClock("d9", wall=lambda: next(readings))
    versions = [clock.tick() for _ in walls]
    assert all(a < b for a, b in zip(versions, versions[1:], strict=False))


def test_versions_name_their_node_and_reject_garbage() -> None:
    version = HybridLogicalClock("dabc").tick()
    assert node_of(version) == "dabc"
    for bad in (
        "",
        "123@x",
        "zzzzzzzzzzzzzzzz@x",
        "0000000000000001@",
        "10000000000000000@dev",  # a 17th digit sorts below every real version
        "00000000000000AB@dev",  # upper case sorts apart from the same version
        " 000000000000001@dev",
        "0000000000000001@dev@x",
        "0000000000000001@" + "d" * 33,
    ):
        with pytest.raises(ValueError):
            Version.parse(bad)


def test_no_clock_writes_a_version_past_the_end_of_its_digits() -> None:
    """The last millisecond's last counter cannot roll into a 17th digit."""
    clock = HybridLogicalClock("dabc", lambda: (1 << 48) - 1)
    clock.observe(str(Version((1 << 48) - 1, (1 << 16) - 2, "hub")))
    assert len(clock.tick().partition("@")[0]) == 16
    with pytest.raises(ValueError):
        clock.tick()


def test_the_hub_never_moves_its_clock_floor_past_its_bound(
    hub_engine: Engine,
) -> None:
    ahead = str(Version(wall_millis() + 25 * 3600 * 1000, 0, "dabc"))
    with hub_engine.begin() as connection:
        with pytest.raises(ValueError):
            clock_for(hub_engine).raise_floor(connection, ahead, wall_millis() + 3600 * 1000)
        floor = connection.execute(text("SELECT hlc_floor FROM sync_node")).scalar()
    assert floor is None or floor < ahead


def test_a_restarted_node_behind_the_floor_never_repeats_a_version(
    edge_db: Path, edge_key: bytes
) -> None:
    """A laptop whose clock is behind what it pulled (the floor) writes a row, restarts,
    and edits the row again: the new process's clock resumes after its last version."""
    ahead = str(Version(wall_millis() + 86_400_000, 0, "hub"))  # the hub's clock, a day on
    first = sqlcipher_engine(edge_db, edge_key)
    with first.begin() as connection:
        connection.execute(text("UPDATE sync_node SET hlc_floor = :v"), {"v": ahead})
    with new_session(first) as session, session.begin():
        patient_id = rows.patient(session).id
    first.dispose()
    restarted = sqlcipher_engine(edge_db, edge_key)  # a new process: a new clock
    with new_session(restarted) as session, session.begin():
        patient = session.get(Patient, patient_id)
        assert patient is not None
        patient.language = "Sesotho"
        old = patient.version
    with new_session(restarted) as session:
        assert session.get(Patient, patient_id).version > old > ahead
    restarted.dispose()


def test_a_restarted_laptop_whose_clock_went_back_a_day_orders_edits_after_its_own(
    edge_db: Path, edge_key: bytes
) -> None:
    """A laptop writes with its clock a day fast, then the clock is set right back past
    those writes and the process restarts: its next edit still orders after its own
    earlier one (the simulated wall, `use_wall`, does not stop the clock resuming from
    the database), or the earlier edit would win everywhere."""
    fast = sqlcipher_engine(edge_db, edge_key)
    clock_for(fast).use_wall(lambda: wall_millis() + 86_400_000)
    with new_session(fast) as session, session.begin():
        patient = rows.patient(session)
        patient_id, first = patient.id, patient.version
    fast.dispose()
    restarted = sqlcipher_engine(edge_db, edge_key)
    clock_for(restarted).use_wall(lambda: wall_millis() - 86_400_000)
    edit_language(restarted, patient_id, "Sesotho")
    with new_session(restarted) as session:
        assert session.get(Patient, patient_id).version > first
    restarted.dispose()


def test_a_resuming_clock_starts_after_the_greatest_recent_version_not_the_last_logged(
    edge_db: Path, edge_key: bytes
) -> None:
    """On MySQL two transactions can log their changes in the opposite order to their
    versions; a restarted clock must still start after the greater one."""
    engine = sqlcipher_engine(edge_db, edge_key)
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
        node = patient.origin_node
    later = str(Version(wall_millis() + 3_600_000, 5, node))
    earlier = str(Version(wall_millis() + 60_000, 0, node))
    with engine.begin() as connection:
        for version in (later, earlier):  # the greater version logged first
            connection.execute(
                text(
                    "INSERT INTO sync_change (table_name, row_id, op, version, node, scope_kind, "
                    "commit_seq) VALUES ('patient', :r, 'u', :v, :n, 'patient', NULL)"
                ),
                {"r": patient.id, "v": version, "n": node},
            )
    engine.dispose()
    restarted = sqlcipher_engine(edge_db, edge_key)
    with restarted.begin() as connection:
        assert clock_for(restarted).tick(connection) > later
    restarted.dispose()


def test_an_edit_orders_after_the_version_it_overwrites(edge_db: Path, edge_key: bytes) -> None:
    """Another process's clock may run ahead of this one's (it applied a fast laptop's
    change, and this process has not re-read the floor yet): an edit here must still
    order after the row's version, or every replica would keep the value it replaced."""
    here = sqlcipher_engine(edge_db, edge_key)
    with new_session(here) as session, session.begin():
        patient_id = rows.patient(session).id  # this process's clock is loaded: "now"
    ahead = sqlcipher_engine(edge_db, edge_key)
    clock_for(ahead).use_wall(lambda: wall_millis() + 3_600_000)
    fast = edit_language(ahead, patient_id, "Sesotho")  # stamped an hour ahead
    edit_language(here, patient_id, "isiZulu")
    with new_session(here) as session:
        assert session.get(Patient, patient_id).version > fast
    ahead.dispose()
    here.dispose()


def edit_language(engine: Engine, patient_id: str, language: str) -> str:
    """Edit the patient through the ORM on `engine`; the version it was stamped with."""
    with new_session(engine) as session, session.begin():
        patient = session.get(Patient, patient_id)
        assert patient is not None
        patient.language = language
    return patient.version
