"""Looking inside an edge database file: identity, schema revision, row counts, integrity,
and exclusive access for the operations that must not race the edge server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlcipher3

from common.database import sqlcipher_connect
from provisioning.errors import DatabaseInUse

IN_USE_WAIT_MS = 2000


@dataclass(frozen=True)
class Facts:
    """What a database says about itself: which node and vehicle, schema, how many rows."""

    node_id: str | None
    vehicle_id: str | None
    revision: str | None
    row_counts: dict[str, int]


def facts(conn: sqlcipher3.Connection) -> Facts:
    tables = table_names(conn)
    node = (
        conn.execute("SELECT id, vehicle_id FROM sync_node LIMIT 1").fetchone()
        if "sync_node" in tables
        else None
    )
    revision = (
        conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if "alembic_version" in tables
        else None
    )
    return Facts(
        node_id=node[0] if node else None,
        vehicle_id=node[1] if node else None,
        revision=revision[0] if revision else None,
        row_counts=row_counts(conn, tables),
    )


def table_names(conn: sqlcipher3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    )
    return [row[0] for row in rows]


def row_counts(conn: sqlcipher3.Connection, tables: list[str]) -> dict[str, int]:
    return {
        name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]  # noqa: S608  # nosec B608 - names from sqlite_master
        for name in tables
    }


def integrity_problems(conn: sqlcipher3.Connection) -> list[str]:
    """Empty when every page authenticates under the key and the b-trees are sound."""
    problems = [f"cipher: {row[0]}" for row in conn.execute("PRAGMA cipher_integrity_check")]
    problems += [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    return problems


@contextmanager
def read_only(path: Path, key: bytes) -> Iterator[sqlcipher3.Connection]:
    conn = sqlcipher_connect(path, key)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def exclusive(path: Path, key: bytes) -> Iterator[sqlcipher3.Connection]:
    """The database with no other connection open: leaving WAL mode is refused while any
    other process (the edge server, the scheduler) has it open, which is our guard."""
    conn = sqlcipher_connect(path, key)
    try:
        conn.execute(f"PRAGMA busy_timeout = {IN_USE_WAIT_MS}")
        try:
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlcipher3.OperationalError:
            mode = None
        if mode != "delete":
            raise DatabaseInUse(
                f"{path} is in use by another program; stop the edge first "
                "(sudo systemctl stop clinic-edge clinic-edge-scheduler)"
            )
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")  # takes the lock, which exclusive mode keeps until close
        conn.execute("COMMIT")
        yield conn  # the edge's own connections switch the file back to WAL
    finally:
        conn.close()
