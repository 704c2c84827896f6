"""The audit trail's seals (`common.auditseal`): an attacker with the database key who
edits a record and hashes the whole chain again with plain SQL passes the chain, but not
its seals, on SQLCipher and MySQL alike and through both `audit verify` commands; every
audited field is covered; the hub seals what a device pushes (protocol 2, which leaves
the hashes out); the key is made once, owner-only, sealing what was there before."""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, delete, func, select, text, update

from common import audit, auditseal
from common.audit import GENESIS
from common.auditseal import SealKey
from common.database import new_session
from schema.models import AuditChain, AuditRecord, AuditSeal
from schema.models.audit import HASHED_FIELDS
from sync import capture
from tests.common.test_audit import append, key_file_of_the_tests
from tests.conftest import TEST_AUDIT_KEY
from tests.support.sync import FaultyLink, Net
from tests.sync.test_columnar import column, pushed_groups, record

RECORDS = AuditRecord.__table__
HEADS = AuditChain.__table__


@pytest.fixture(params=["edge", "hub"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The database of either app: a SQLCipher file or a MySQL database."""
    return request.getfixturevalue(f"{request.param}_engine")


def verify(engine: Engine, key: SealKey | None = None) -> list[audit.ChainReport]:
    with new_session(engine) as session:
        return audit.verify(session, key)


def forge(engine: Engine, tamper: Callable[[Connection], None]) -> None:
    """What an attacker with the database key can do with plain SQL: edit, then number
    and hash every chain again from its first record (the algorithm is no secret) and
    move the heads along, so that every link holds again."""
    with engine.begin() as connection:
        capture.uninstall(connection, [RECORDS])  # the append-only triggers, dropped
        tamper(connection)
        rehash_every_chain(connection)
        capture.install(connection, [RECORDS])  # the database outlives the test


def rehash_every_chain(connection: Connection) -> None:
    rows = connection.execute(select(RECORDS).order_by(RECORDS.c.origin_node, RECORDS.c.chain_seq))
    ends: dict[str, tuple[int, str]] = {}
    for row in rows.all():
        seq, prev = ends.get(row.origin_node, (0, GENESIS))
        fields = {**row._mapping, "chain_seq": seq + 1, "prev_hash": prev}
        digest = audit.record_hash(SimpleNamespace(**fields))  # type: ignore[arg-type]
        connection.execute(
            update(RECORDS)
            .where(RECORDS.c.id == row.id)
            .values(chain_seq=seq + 1, prev_hash=prev, hash=digest)
        )
        ends[row.origin_node] = (seq + 1, digest)
    for node, (seq, digest) in ends.items():
        connection.execute(
            update(HEADS).where(HEADS.c.node == node).values(last_seq=seq, last_hash=digest)
        )


def set_third(**values: Any) -> Callable[[Connection], None]:
    return lambda connection: connection.execute(
        update(RECORDS).where(RECORDS.c.chain_seq == 3).values(**values)
    )


def swap_third_and_fourth(connection: Connection) -> None:
    for old, new in ((3, 99), (4, 3), (99, 4)):
        connection.execute(update(RECORDS).where(RECORDS.c.chain_seq == old).values(chain_seq=new))


# A new value for every field the record's hash covers but its link (`prev_hash`, which
# the attacker recomputes with the rest).
EDITS: Mapping[str, Callable[[Connection], None]] = {
    "id": set_third(id="0f0f0f0f-0000-7000-8000-000000000000"),
    "origin_node": set_third(origin_node="dforged000001"),
    "chain_seq": swap_third_and_fourth,
    "at": set_third(at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    "user_id": set_third(user_id="u-someone-else"),
    "username": set_third(username="someone.else"),
    "role": set_third(role="administrator"),
    "action": set_third(action="nothing"),
    "resource_type": set_third(resource_type="asset"),
    "resource_id": set_third(resource_id="r-other"),
    "patient_id": set_third(patient_id="p-other"),
    "outcome": set_third(outcome="denied"),
    "client_addr": set_third(client_addr="192.0.2.1"),
    "user_agent": set_third(user_agent="curl"),
    "vehicle_id": set_third(vehicle_id="v-other"),
    "detail": set_third(detail={"forged": True}),
    "retention_until": set_third(retention_until=dt.date(2027, 1, 1)),
}


def test_every_audited_field_has_an_edit() -> None:
    assert set(EDITS) == set(HASHED_FIELDS) - {"prev_hash"}


def test_an_untouched_trail_verifies_with_every_record_and_the_head_sealed(
    engine: Engine,
) -> None:
    append(engine, 5)
    [report] = verify(engine)
    assert report.broken is None and report.records == 5
    with engine.connect() as connection:
        seals = connection.execute(select(AuditSeal.key_id, func.count()).group_by("key_id"))
        assert seals.all() == [(TEST_AUDIT_KEY.id, 5)]
        assert connection.scalar(select(AuditChain.seal_key)) == TEST_AUDIT_KEY.id


def test_an_edit_with_the_chain_hashed_again_is_found_by_its_seal(engine: Engine) -> None:
    append(engine, 5)
    forge(engine, set_third(outcome="denied"))
    [report] = verify(engine)
    assert report.broken is not None and report.broken.seq == 3
    assert "does not match its seal" in report.broken.reason  # every link held


@pytest.mark.parametrize("field", sorted(EDITS))
def test_every_audited_field_changed_is_found(engine: Engine, field: str) -> None:
    append(engine, 5)
    forge(engine, EDITS[field])
    broken = [report.broken for report in verify(engine) if report.broken is not None]
    assert broken, f"an edit of {field} with the chain hashed again went unnoticed"
    assert all("seal" in found.reason for found in broken)  # every link held: the seal told


def test_a_record_without_its_seal_is_a_break(engine: Engine) -> None:
    append(engine, 4)
    with engine.begin() as connection:
        second = connection.scalar(select(RECORDS.c.id).where(RECORDS.c.chain_seq == 2))
        connection.execute(delete(AuditSeal).where(AuditSeal.record_id == second))
    [report] = verify(engine)
    assert report.broken is not None and report.broken.seq == 2
    assert "has no seal" in report.broken.reason


def test_records_cut_from_the_end_show_in_the_heads_seal(engine: Engine) -> None:
    """The chain before them holds; the head, moved back by the attacker, does not."""
    append(engine, 5)
    with engine.begin() as connection:
        capture.uninstall(connection, [RECORDS])
        last = connection.execute(select(RECORDS).where(RECORDS.c.chain_seq == 5)).one()
        connection.execute(delete(RECORDS).where(RECORDS.c.id == last.id))
        connection.execute(delete(AuditSeal).where(AuditSeal.record_id == last.id))
        connection.execute(update(HEADS).values(last_seq=4, last_hash=last.prev_hash))
        capture.install(connection, [RECORDS])
    [report] = verify(engine)
    assert report.broken is not None and report.broken.seq == 5
    assert "head does not match its seal" in report.broken.reason


def test_records_sealed_under_another_key_are_named_as_such(engine: Engine) -> None:
    append(engine, 2)
    [report] = verify(engine, SealKey.new())
    assert report.broken is not None and report.broken.seq == 1
    assert f"sealed under another audit key ({TEST_AUDIT_KEY.id})" in report.broken.reason


def test_clinic_edge_audit_verify_finds_a_forged_edit(
    edge_db: Path, edge_key: bytes, edge_engine: Engine
) -> None:
    from edge.cli import main

    env = {"EDGE_DATABASE_PATH": str(edge_db), "EDGE_DB_KEY": edge_key.hex()}
    env["EDGE_AUDIT_KEY_FILE"] = str(key_file_of_the_tests(edge_db.parent))
    append(edge_engine, 4)
    assert CliRunner(env=env).invoke(main, ["audit", "verify"]).exit_code == 0
    forge(edge_engine, set_third(action="nothing"))
    result = CliRunner(env=env).invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at record #3" in result.output and "does not match its seal" in result.output


def test_clinic_hub_audit_verify_finds_a_forged_edit(
    hub_database_url: str, hub_engine: Engine, tmp_path: Path
) -> None:
    from hub.cli import main

    env = {"HUB_DATABASE_URL": hub_database_url}
    env["HUB_AUDIT_KEY_FILE"] = str(key_file_of_the_tests(tmp_path))
    append(hub_engine, 4)
    assert CliRunner(env=env).invoke(main, ["audit", "verify"]).exit_code == 0
    forge(hub_engine, set_third(user_id="u-someone-else"))
    result = CliRunner(env=env).invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "node hub: BROKEN at record #3" in result.output
    assert "does not match its seal" in result.output


def test_verify_without_the_key_file_says_so(
    edge_db: Path, edge_key: bytes, tmp_path: Path
) -> None:
    from edge.cli import main

    env = {"EDGE_DATABASE_PATH": str(edge_db), "EDGE_DB_KEY": edge_key.hex()}
    env["EDGE_AUDIT_KEY_FILE"] = str(tmp_path / "nowhere" / "audit.key")
    result = CliRunner(env=env).invoke(main, ["audit", "verify"])
    assert result.exit_code == 1
    assert "the audit key not found" in result.output and "clinic-edge migrate" in result.output


def test_the_hub_seals_what_a_protocol_2_push_brings(sync_net: Callable[[], Net]) -> None:
    """The push leaves out the hashes the hub works out; the hub stores them worked out
    and seals each record under its own key as the batch is applied."""
    net = sync_net()
    edge = net.edge("A")
    link = FaultyLink(edge)
    record(edge.engine, 12)
    edge.sync()
    [group] = pushed_groups(link.sent)
    assert column(group, "hash") == [None] * 12  # what travels is unchanged
    hub_key = auditseal.key_for(net.hub_engine)
    with net.hub_engine.connect() as connection:
        sealed = connection.execute(
            select(RECORDS.c.id, RECORDS.c.hash, AuditSeal.key_id, AuditSeal.mac)
            .join(AuditSeal, AuditSeal.record_id == RECORDS.c.id)
            .where(RECORDS.c.origin_node == edge.node)
        ).all()
    assert len(sealed) >= 12
    assert all(row.key_id == hub_key.id for row in sealed)
    assert all(row.mac == hub_key.record(row.id, row.hash) for row in sealed)
    with new_session(net.hub_engine) as session:
        assert audit.verify_chain(session, edge.node).broken is None

    forge(net.hub_engine, lambda c: c.execute(text("UPDATE audit_record SET action = 'x'")))
    with new_session(net.hub_engine) as session:
        report = audit.verify_chain(session, edge.node)
    assert report.broken is not None and "does not match its seal" in report.broken.reason


def test_the_key_is_made_once_owner_only_sealing_what_was_written_before(
    edge_engine: Engine, tmp_path: Path
) -> None:
    """As at the upgrade that brings sealing: the records already there are sealed as
    they stand; a later run makes no key and seals nothing, so a record slipped in later
    by someone with the database key stays unsealed."""
    append(edge_engine, 3)
    with edge_engine.begin() as connection:  # a trail from before sealing
        connection.execute(delete(AuditSeal))
        connection.execute(update(HEADS).values(seal_key=None, seal=None))
    path = tmp_path / "secrets" / "audit.key"

    assert auditseal.start_sealing(edge_engine, path) == 3

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    key = SealKey.from_text(path.read_text())
    [report] = verify(edge_engine, key)
    assert report.broken is None and report.records == 3
    assert auditseal.start_sealing(edge_engine, path) is None
    assert SealKey.from_text(path.read_text()) == key
    with edge_engine.begin() as connection:
        first = connection.scalar(select(RECORDS.c.id).where(RECORDS.c.chain_seq == 1))
        connection.execute(delete(AuditSeal).where(AuditSeal.record_id == first))
    assert auditseal.start_sealing(edge_engine, path) is None
    [report] = verify(edge_engine, key)
    assert report.broken is not None and "has no seal" in report.broken.reason


def test_sealing_what_was_written_before_goes_a_page_at_a_time(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auditseal, "_CHUNK", 2)
    append(engine, 5)
    with engine.begin() as connection:
        connection.execute(delete(AuditSeal))
    path = tmp_path / "audit.key"
    assert auditseal.start_sealing(engine, path) == 5
    [report] = verify(engine, SealKey.from_text(path.read_text()))
    assert report.broken is None and report.records == 5
