"""One migration history upgrades empty SQLite, SQLCipher and MySQL databases to the
models exactly: autogenerate finds nothing left to do."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

import schema
from common.database import plain_engine, sqlcipher_engine
from schema import migrate
from tests.support import mysql


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
