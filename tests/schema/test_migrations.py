"""One migration history upgrades empty SQLite, SQLCipher and MySQL databases to the
models exactly: autogenerate finds nothing left to do."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

import schema
from common.database import new_session, plain_engine, sqlcipher_engine
from common.node import ensure_node
from schema import migrate
from schema.base import utcnow
from schema.models import Claim, ClaimLine, Visit
from tests.support import mysql, rows


def schema_diff(engine: Engine) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, schema.metadata)


def upgraded_matches_models(engine: Engine) -> None:
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    assert set(inspect(engine).get_table_names()) >= set(schema.metadata.tables)
    assert schema_diff(engine) == []


def test_empty_sqlite_file_upgrades_to_the_models(tmp_path: Path) -> None:
    engine = plain_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgraded_matches_models(engine)
    engine.dispose()


def test_empty_sqlcipher_file_upgrades_to_the_models(tmp_path: Path) -> None:
    engine = sqlcipher_engine(tmp_path / "edge.db", secrets.token_bytes(32))
    upgraded_matches_models(engine)
    engine.dispose()


def test_empty_mysql_database_upgrades_to_the_models() -> None:
    url = mysql.create_database()
    engine = plain_engine(url)
    try:
        upgraded_matches_models(engine)
    finally:
        engine.dispose()
        mysql.drop_database(url)


def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    engine = plain_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    assert migrate.is_at_head(engine)
    engine.dispose()


def test_a_model_change_without_migration_is_detected(tmp_path: Path) -> None:
    """The comparison is not vacuous: a column the migrations lack shows up as a diff."""
    from sqlalchemy import Column, MetaData, String, Table

    engine = plain_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate.upgrade(engine)
    extended = MetaData()
    for table in schema.metadata.tables.values():
        table.to_metadata(extended)
    Table("patient", extended, Column("nickname", String(20)), extend_existing=True)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, extended)
    assert any(entry[0] == "add_column" and entry[3].name == "nickname" for entry in diff)
    engine.dispose()


HUB_ONLY = {
    "ix_audit_record_at",
    "ix_audit_record_patient_at",
    "ix_audit_record_user_at",
    "ix_audit_record_vehicle_at",
    "ix_sync_change_scope",
}


def index_names(engine: Engine) -> set[str]:
    found = inspect(engine)
    return {
        str(ix["name"])
        for table in ("audit_record", "sync_change")
        for ix in found.get_indexes(table)
    }


def index_sql(engine: Engine, name: str) -> str:
    """The index's CREATE statement; the index must exist."""
    with engine.connect() as connection:
        query = text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :n")
        sql = connection.scalar(query, {"n": name})
    assert sql is not None, f"no index {name}"
    return str(sql)


def test_a_new_edge_drops_the_hub_only_indexes_and_a_hub_keeps_them(tmp_path: Path) -> None:
    assert {str(index.name) for index in schema.hub_only_indexes()} == HUB_ONLY
    edge = sqlcipher_engine(tmp_path / "edge.db", secrets.token_bytes(32))
    hub = plain_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    for engine, kind in ((edge, "edge"), (hub, "hub")):
        migrate.upgrade(engine)
        assert HUB_ONLY <= index_names(engine)
        with new_session(engine) as session, session.begin():
            ensure_node(session, f"d{kind}", kind)
    assert not HUB_ONLY & index_names(edge)
    chain = inspect(edge).get_unique_constraints("audit_record")  # verify_chain reads by it
    assert [unique["column_names"] for unique in chain] == [["origin_node", "chain_seq"]]
    assert HUB_ONLY <= index_names(hub)
    edge.dispose()
    hub.dispose()


def test_an_existing_edge_drops_them_on_upgrade_and_gets_them_back_on_downgrade(
    tmp_path: Path,
) -> None:
    """A laptop made before revision 0012 loses the hub-only indexes when migrated,
    and on SQLite the change log's `tx` index then holds only rows with a `tx`."""
    engine = sqlcipher_engine(tmp_path / "edge.db", secrets.token_bytes(32))
    migrate.upgrade(engine, "0011")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO sync_node (id, kind, created_at) VALUES ('dold', 'edge', :at)"),
            {"at": "2026-12-01 08:00:00"},
        )
    assert "WHERE" not in index_sql(engine, "ix_sync_change_tx")
    migrate.upgrade(engine)
    assert not HUB_ONLY & index_names(engine)
    assert index_sql(engine, "ix_sync_change_tx").endswith("WHERE tx IS NOT NULL")
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")
    assert HUB_ONLY <= index_names(engine)
    assert "WHERE" not in index_sql(engine, "ix_sync_change_tx")
    engine.dispose()


def test_claims_keep_their_rows_and_capture_across_0015_on_an_edge(tmp_path: Path) -> None:
    """0015 re-makes `claim` on SQLite (batch mode) under rows `claim_line` refers to:
    the rows survive both ways, the capture triggers come back with the new columns, and
    a visit may then hold a second claim that supersedes the first."""
    engine = sqlcipher_engine(tmp_path / "edge.db", secrets.token_bytes(32))
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        ensure_node(session, "dmigration01", "edge")
        first = _closed_visit_claim(session)
    migrate.downgrade(engine, "0013")
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        claim = session.get_one(Claim, first.id)
        assert [line.claim_id for line in session.scalars(select(ClaimLine))] == [claim.id]
        claim.status, claim.withdrawal_reason = "withdrawn", "lab result came"
        session.flush()
        second = _claim(session, claim.visit_id, claim.patient_id, claim.vehicle_id, claim.id)
    with engine.connect() as connection:
        logged = connection.execute(
            text("SELECT op, columns FROM sync_change WHERE table_name = 'claim' ORDER BY seq")
        ).all()
        assert [op for op, _ in logged] == ["i", "u", "i"]
        assert "withdrawal_reason" in logged[1].columns
        with pytest.raises(DBAPIError, match="without a new version"):
            connection.execute(text("UPDATE claim SET status = 'ready'"))
    assert second.supersedes_id == first.id
    engine.dispose()


def _closed_visit_claim(session: Session) -> Claim:
    vehicle = rows.vehicle(session)
    patient = rows.patient(session)
    visit = Visit(
        patient_id=patient.id,
        vehicle_id=vehicle.id,
        visit_date=utcnow().date(),
        stage="closure",
        status="closed",
        opened_by="someone",
        opened_at=utcnow(),
    )
    session.add(visit)
    session.flush()
    claim = _claim(session, visit.id, patient.id, vehicle.id, None)
    session.add(
        ClaimLine(
            claim_id=claim.id,
            vehicle_id=vehicle.id,
            kind="tariff",
            code="0190",
            description="Consultation",
            quantity=1,
            unit_price=Decimal("520.00"),
            amount=Decimal("520.00"),
        )
    )
    session.flush()
    return claim


def _claim(
    session: Session, visit_id: str, patient_id: str, vehicle_id: str, supersedes: str | None
) -> Claim:
    claim = Claim(
        visit_id=visit_id,
        patient_id=patient_id,
        vehicle_id=vehicle_id,
        supersedes_id=supersedes,
        service_date=utcnow().date(),
        icd10_codes=["J069"],
        total_amount=Decimal("520.00"),
        status="ready",
        problems=[],
        rejection_codes=[],
        created_by="someone",
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(claim)
    session.flush()
    return claim
