"""Run the one Alembic history against any engine (SQLite, SQLCipher, MySQL).

Engines are passed in rather than read from alembic.ini, because the edge's encrypted
database can only be opened through its own connection factory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision` (head by default) in one transaction."""
    config = alembic_config()
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to `revision`, in one transaction."""
    config = alembic_config()
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for the whole history. On SQLite, foreign keys are off meanwhile
    and checked before it commits (SQLite's own procedure for altering a table): batch
    mode re-makes a table by copying it, dropping it and renaming the copy, and dropping
    a table other rows refer to would otherwise fail, or leave SQLite counting them as
    orphans until the commit."""
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection if _is_sqlite(engine) else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or ignored
        try:
            with connection.begin():
                yield connection
                if raw is not None:
                    _foreign_keys_hold(connection)
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _foreign_keys_hold(connection: Connection) -> None:
    orphans = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if orphans:
        found = ", ".join(sorted({f"{row[0]} -> {row[2]}" for row in orphans}))
        raise RuntimeError(f"the migration left rows whose parents are missing: {found}")


def _is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("the migration history is empty")
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
