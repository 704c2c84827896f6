"""Invariants 1 and 2: every write of a synced table is captured in its transaction, by
triggers that raw SQL cannot get around; append-only tables never change."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DatabaseError, IntegrityError

import schema
from common.database import new_session
from schema.base import new_id
from schema.models import AuditRecord, Patient, SyncChange, SyncClock
from sync import capture
from sync.clock import node_of
from sync.policy import sync_spec
from sync.stamp import clock_for
from tests.support import rows


def changes(engine: Engine) -> list[SyncChange]:
    with new_session(engine) as session:
        return list(session.scalars(select(SyncChange).order_by(SyncChange.seq)))


def test_insert_is_captured_with_node_version_and_scope(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
    [change] = changes(engine)
    assert (change.table_name, change.row_id, change.op) == ("patient", patient.id, "i")
    assert change.version == patient.version
    assert change.node == node_of(patient.version) == patient.origin_node
    assert (change.scope_kind, change.scope_id) == ("patient", patient.id)
    assert change.commit_seq is not None


def test_update_captures_only_the_changed_columns(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
    first_version = patient.version
    with new_session(engine) as session, session.begin():
        row = session.get(Patient, patient.id)
        row.phone = "+27821234567"
        row.last_name = row.last_name  # unchanged value: not a change
    update = changes(engine)[-1]
    assert update.op == "u"
    assert json.loads(update.columns) == {"phone": update.version}
    with new_session(engine) as session:
        clock = session.get(SyncClock, ("patient", patient.id))
    assert clock.base == first_version
    assert json.loads(clock.clocks) == {"phone": update.version}


def test_a_write_without_a_new_version_is_refused(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
    with engine.begin() as conn, pytest.raises(DatabaseError, match="without a new version"):
        conn.execute(
            text("UPDATE patient SET phone = '0821112222' WHERE id = :id"), {"id": patient.id}
        )
    assert [c.op for c in changes(engine)] == ["i"]


def test_raw_sql_with_a_new_version_is_captured(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
    newer = "ffff000000000000@" + patient.origin_node
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE patient SET phone = '0821112222', version = :v WHERE id = :id"),
            {"id": patient.id, "v": newer},
        )
    assert json.loads(changes(engine)[-1].columns) == {"phone": newer}


def test_delete_needs_a_tombstone(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session)
    with engine.begin() as conn, pytest.raises(DatabaseError, match="delete_row"):
        conn.execute(text("DELETE FROM patient WHERE id = :id"), {"id": patient.id})
    tombstone = "ffff000000000001@" + patient.origin_node
    with engine.begin() as conn:
        capture.delete_row(conn, schema.metadata.tables["patient"], patient.id, tombstone)
    deleted = changes(engine)[-1]
    assert (deleted.op, deleted.row_id, deleted.version) == ("d", patient.id, tombstone)
    with new_session(engine) as session:
        assert session.get(Patient, patient.id) is None
        assert session.get(SyncClock, ("patient", patient.id)).deleted == tombstone


def test_append_only_rows_cannot_change(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        record = AuditRecord(
            chain_seq=1,
            at=schema.base.utcnow(),
            action="login",
            outcome="success",
            retention_until=schema.base.utcnow().date(),
            prev_hash="0" * 64,
            hash="1" * 64,
        )
        session.add(record)
    for statement in (
        "UPDATE audit_record SET action = 'x', version = 'z' WHERE id = :id",
        "DELETE FROM audit_record WHERE id = :id",
    ):
        with engine.begin() as conn, pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text(statement), {"id": record.id})
    with new_session(engine) as session:
        assert session.get(AuditRecord, record.id).action == "login"


def test_union_columns_keep_their_prior_value(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session, allergies=["penicillin"])
    with new_session(engine) as session, session.begin():
        session.get(Patient, patient.id).allergies = ["penicillin", "sulfa"]
    prior = json.loads(changes(engine)[-1].prior)
    assert json.loads(prior["allergies"]) == ["penicillin"]


def test_a_case_only_correction_is_a_change(engine: Engine) -> None:
    with new_session(engine) as session, session.begin():
        patient = rows.patient(session, last_name="mokoena")
    with new_session(engine) as session, session.begin():
        session.get(Patient, patient.id).last_name = "Mokoena"
    assert json.loads(changes(engine)[-1].columns).keys() == {"last_name"}


def test_the_change_rolls_back_with_its_write(engine: Engine) -> None:
    with new_session(engine) as session:
        rows.patient(session)
        session.rollback()
    assert changes(engine) == []


def test_every_synced_table_has_its_triggers(engine: Engine) -> None:
    with engine.connect() as conn:
        present = capture.installed(conn)
    for table in schema.metadata.sorted_tables:
        names = set(capture.trigger_names(table.name))
        if sync_spec(table) is None:
            assert not names & present, table.name
        else:
            assert {f"sync_{table.name}_ai", f"sync_{table.name}_bu"} <= present, table.name


def test_unlogged_inserts_are_unlogged_inside_the_block_only(engine: Engine) -> None:
    """The snapshot's inserts on SQLite: not logged inside the block; the trigger is back
    after it, and after a failure in it, within the same transaction. MySQL, where DDL
    would commit at once, logs them as usual."""
    province = schema.metadata.tables["province"]
    clock = clock_for(engine)

    def add(connection: Connection, code: str) -> str:
        version = clock.tick(connection)
        row_id = new_id()
        connection.execute(
            province.insert().values(
                id=row_id, origin_node=node_of(version), version=version, code=code, name="KZN"
            )
        )
        return row_id

    with engine.begin() as connection:
        with capture.unlogged_inserts(connection, province):
            inside = add(connection, "KZN")
        with pytest.raises(IntegrityError), capture.unlogged_inserts(connection, province):
            add(connection, "KZN")  # the code is unique: refused, the savepoint rolled back
        after = add(connection, "NW")
    logged = {change.row_id for change in changes(engine)}
    assert (inside in logged) is (engine.dialect.name != "sqlite")
    assert after in logged, "the insert trigger is back after a failed block"
    with engine.connect() as connection:
        assert "sync_province_ai" in capture.installed(connection)
        assert connection.execute(text("SELECT count(*) FROM province")).scalar() == 2
