"""The audit trail: records chained per node, tampering found (edited, deleted, reordered,
cut short) on SQLCipher and MySQL alike, and the three ways of recording in a request."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from common import audit, auditseal
from common.access import current_actor
from common.api import endpoint, ok
from common.audit import GENESIS, Entry, Who
from common.database import db, new_session, write_intent
from common.errors import Conflict
from schema.base import new_id, utcnow
from schema.models import AuditRecord, User
from sync import capture
from tests.conftest import TEST_AUDIT_KEY
from tests.support.identity import Staff

SOMEONE = Who("u-1", "sister", "nurse", "10.1.1.7", "tablet", None)


@pytest.fixture(params=["edge", "hub"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The database of either app: a SQLCipher file or a MySQL database."""
    return request.getfixturevalue(f"{request.param}_engine")


def append(engine: Engine, count: int, action: str = "read") -> None:
    for number in range(count):
        with write_intent(), new_session(engine) as session, session.begin():
            audit.append(session, SOMEONE, Entry(action, resource_id=f"r{number}"))


def verify(engine: Engine) -> list[audit.ChainReport]:
    with new_session(engine) as session:
        return audit.verify(session)


def sql(engine: Engine, *statements: str) -> None:
    """Tamper like an attacker with the database file or server: the append-only
    triggers would refuse these statements, so drop them first."""
    with engine.begin() as connection:
        capture.uninstall(connection, [AuditRecord.__table__])
        for statement in statements:
            connection.execute(text(statement))
        capture.install(connection, [AuditRecord.__table__])  # the database outlives the test


def test_the_database_itself_refuses_edits_and_deletes(engine: Engine) -> None:
    append(engine, 2)
    for statement in (
        "UPDATE audit_record SET outcome = 'failure' WHERE chain_seq = 1",
        "DELETE FROM audit_record WHERE chain_seq = 2",
    ):
        with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
    [report] = verify(engine)
    assert report.broken is None and report.records == 2


def test_an_untouched_chain_verifies(engine: Engine) -> None:
    append(engine, 5)
    [report] = verify(engine)
    assert report.broken is None and report.records == 5
    with engine.connect() as connection:
        records = connection.execute(select(AuditRecord).order_by(AuditRecord.chain_seq)).all()
    assert [r.chain_seq for r in records] == [1, 2, 3, 4, 5]
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:], strict=False))


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        (["UPDATE audit_record SET outcome = 'failure' WHERE chain_seq = 3"], 3, "altered"),
        (["UPDATE audit_record SET resource_id = 'r9' WHERE chain_seq = 1"], 1, "altered"),
        (["DELETE FROM audit_record WHERE chain_seq = 2"], 2, "missing (deleted)"),
        (["DELETE FROM audit_record WHERE chain_seq = 5"], 5, "records at the end were deleted"),
        (
            [
                "UPDATE audit_record SET chain_seq = 99 WHERE chain_seq = 2",
                "UPDATE audit_record SET chain_seq = 2 WHERE chain_seq = 3",
                "UPDATE audit_record SET chain_seq = 3 WHERE chain_seq = 99",
            ],
            2,
            "does not follow the record before it",
        ),
    ],
    ids=["edited", "edited-first", "deleted", "deleted-last", "reordered"],
)
def test_tampering_is_found_at_the_first_broken_link(
    engine: Engine, tamper: list[str], seq: int, reason: str
) -> None:
    append(engine, 5)
    sql(engine, *tamper)  # an attacker with access to the database file or server
    [report] = verify(engine)
    assert report.broken is not None
    assert report.broken.seq == seq and reason in report.broken.reason


def test_chains_of_other_nodes_are_verified_one_by_one(hub_engine: Engine) -> None:
    append(hub_engine, 2)
    synced_chain(hub_engine, "dvehicle00001", 3)
    synced_chain(hub_engine, "dvehicle00002", 3)
    sql(hub_engine, "UPDATE audit_record SET action = 'x' WHERE origin_node = 'dvehicle00002'")
    reports = {r.node: r for r in verify(hub_engine)}
    assert reports["hub"].broken is None and reports["hub"].records == 2
    assert reports["dvehicle00001"].broken is None
    assert reports["dvehicle00002"].broken is not None
    assert reports["dvehicle00002"].broken.seq == 1


def synced_chain(engine: Engine, node: str, count: int) -> None:
    """Records as they arrive from a vehicle by sync: chained on that vehicle, and sealed
    by the hub as it stores them."""
    prev = GENESIS
    with new_session(engine) as session, session.begin():
        ids = [new_id() for _ in range(count)]
        for seq, record_id in enumerate(ids, start=1):
            record = AuditRecord(
                id=record_id,
                origin_node=node,
                chain_seq=seq,
                at=utcnow(),
                action="read",
                outcome="success",
                retention_until=audit.retention_date(utcnow().date()),
                prev_hash=prev,
            )
            record.hash = prev = audit.record_hash(record)
            session.add(record)
        session.flush()
        auditseal.seal_unsealed(session.connection(), TEST_AUDIT_KEY, ids)


def test_concurrent_appends_keep_one_unbroken_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            append(engine, 10)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    [report] = verify(engine)
    assert report.broken is None and report.records == 40


def test_records_are_kept_six_years() -> None:
    assert audit.retention_date(dt.date(2026, 3, 1)) == dt.date(2032, 3, 1)
    assert audit.retention_date(dt.date(2028, 2, 29)) == dt.date(2034, 2, 28)


def test_clinic_edge_audit_verify(edge_db: Path, edge_key: bytes, edge_engine: Engine) -> None:
    from edge.cli import main

    env = {"EDGE_DATABASE_PATH": str(edge_db), "EDGE_DB_KEY": edge_key.hex()}
    env["EDGE_AUDIT_KEY_FILE"] = str(key_file_of_the_tests(edge_db.parent))
    append(edge_engine, 3)
    intact = CliRunner(env=env).invoke(main, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert "3 records, chain intact" in intact.output
    sql(edge_engine, "DELETE FROM audit_record WHERE chain_seq = 2")
    broken = CliRunner(env=env).invoke(main, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "BROKEN at record #2" in broken.output and "tampered with" in broken.output


def key_file_of_the_tests(folder: Path) -> Path:
    """The tests' audit key in a file, as a command reads it."""
    path = folder / "audit.key"
    path.write_text(TEST_AUDIT_KEY.text())
    path.chmod(0o600)
    return path


def test_clinic_hub_audit_verify(hub_database_url: str, hub_engine: Engine, tmp_path: Path) -> None:
    from hub.cli import main

    env = {"HUB_DATABASE_URL": hub_database_url}
    env["HUB_AUDIT_KEY_FILE"] = str(key_file_of_the_tests(tmp_path))
    assert "No audit records yet." in CliRunner(env=env).invoke(main, ["audit", "verify"]).output
    append(hub_engine, 2)
    synced_chain(hub_engine, "dvehicle00001", 2)
    sql(hub_engine, "UPDATE audit_record SET outcome = 'denied' WHERE chain_seq = 2")
    result = CliRunner(env=env).invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "node dvehicle00001: BROKEN at record #2" in lines[0]
    assert "node hub: BROKEN at record #2" in lines[1]


@pytest.fixture
def recording_app(edge_app: Flask) -> Flask:
    """Routes that record the three ways, as later features will."""

    @edge_app.get("/api/test-read/<user_id>")
    @endpoint("patients:read")
    def read(user_id: str) -> Any:
        user = db.session.get(User, user_id)
        audit.record_read(db.session, current_actor(), "patient", user_id, patient_id=user_id)
        again = db.session.get(User, user_id)  # reading goes on after the record
        return ok({"name": user.full_name if user else None, "same": again is user})

    @edge_app.post("/api/test-write-fails")
    @endpoint("patients:write")
    def write_fails() -> Any:
        audit.record(db.session, current_actor(), "patient_updated", resource_type="patient")
        raise Conflict("the change was refused")

    @edge_app.post("/api/test-failure-recorded")
    @endpoint("patients:write")
    def failure_recorded() -> Any:
        audit.record_apart(db.session, current_actor(), "checked", outcome=audit.FAILURE)
        raise Conflict("refused after recording")

    return edge_app


def actions(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(AuditRecord.action).order_by(AuditRecord.chain_seq)))


def test_a_read_in_a_get_is_recorded_in_its_own_transaction(
    recording_app: Flask, edge_engine: Engine, edge_user: Callable[..., Staff]
) -> None:
    nurse = edge_user("nurse")
    response = recording_app.test_client().get(f"/api/test-read/{nurse.id}", headers=nurse.headers)
    assert response.status_code == 200
    assert response.get_json()["data"] == {"name": nurse.full_name, "same": True}
    with edge_engine.connect() as connection:
        record = connection.execute(select(AuditRecord).filter_by(action="read")).one()
    assert (record.user_id, record.patient_id, record.resource_type) == (
        nurse.id,
        nurse.id,
        "patient",
    )


def test_a_write_record_rolls_back_with_the_failed_write(
    recording_app: Flask, edge_engine: Engine, edge_user: Callable[..., Staff]
) -> None:
    nurse = edge_user("nurse")
    client = recording_app.test_client()
    assert client.post("/api/test-write-fails", headers=nurse.headers).status_code == 409
    assert actions(edge_engine) == []
    assert client.post("/api/test-failure-recorded", headers=nurse.headers).status_code == 409
    assert actions(edge_engine) == ["checked"]
    [report] = verify(edge_engine)
    assert report.broken is None


def test_a_restored_laptops_trail_goes_on_as_a_branch_and_both_verify(
    edge_engine: Engine,
) -> None:
    """After a restore the next records start a branch linked to the backup's last one:
    the laptop's trail verifies, and so does the hub's copy holding both branches."""
    append(edge_engine, 3)
    with edge_engine.begin() as connection:
        assert audit.branch_after_restore(connection, TEST_AUDIT_KEY) == audit.BRANCH
    assert [r.broken for r in verify(edge_engine)] == [None]  # restored, nothing since
    append(edge_engine, 2)
    with edge_engine.connect() as connection:
        numbers = list(connection.scalars(text("SELECT chain_seq FROM audit_record ORDER BY 1")))
    assert numbers == [1, 2, 3, audit.BRANCH + 1, audit.BRANCH + 2]
    assert [r.broken for r in verify(edge_engine)] == [None]


def test_a_branch_must_hang_from_a_record_of_the_chain(edge_engine: Engine) -> None:
    """Records cut from the end cannot pass for a branch: a record numbered as a branch's
    start whose link is no earlier record breaks the chain."""
    append(edge_engine, 3)
    with edge_engine.begin() as connection:
        audit.branch_after_restore(connection, TEST_AUDIT_KEY)
    append(edge_engine, 1)
    sql(
        edge_engine,
        f"UPDATE audit_record SET prev_hash = '{'ab' * 32}' WHERE chain_seq = {audit.BRANCH + 1}",
    )
    [report] = verify(edge_engine)
    assert report.broken is not None and report.broken.seq == 4
