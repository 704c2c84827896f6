"""Commit order for the change log.

`sync_change.seq` is handed out when a row is inserted; on MySQL two transactions can
commit in the opposite order, and a reader paging by `seq` would skip the one that
committed late. As a transaction commits, its changes receive `commit_seq` values under
a short lock on `sync_counter`, so `commit_seq` order is commit order. SQLite has one
writer at a time, so there `commit_seq` is simply `seq`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event, text

COUNTER = "commit"
_CHUNK = 1000


def install(engine: Engine) -> None:
    """Assign commit sequence numbers in every transaction committed through `engine`."""
    event.listen(engine, "commit", _assign)


def _assign(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        _assign_sqlite(connection)
        return
    # A plain (non-locking) read finds this transaction's own changes; they are then
    # numbered by primary key, so no other transaction's rows are ever locked.
    tx = connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
    pending = [
        row[0]
        for row in connection.execute(
            text("SELECT seq FROM sync_change WHERE tx = :tx AND commit_seq IS NULL ORDER BY seq"),
            {"tx": tx},
        )
    ]
    if not pending:
        return
    base = connection.execute(
        text("SELECT value FROM sync_counter WHERE name = :n FOR UPDATE"), {"n": COUNTER}
    ).scalar_one()
    for start in range(0, len(pending), _CHUNK):
        chunk = pending[start : start + _CHUNK]
        arms = " ".join(
            f"WHEN {int(seq)} THEN {base + start + i + 1}" for i, seq in enumerate(chunk)
        )
        keys = ", ".join(str(int(seq)) for seq in chunk)
        connection.exec_driver_sql(
            f"UPDATE sync_change SET commit_seq = CASE seq {arms} END WHERE seq IN ({keys})"  # noqa: S608  # nosec B608 - integers only
        )
    connection.execute(
        text("UPDATE sync_counter SET value = :v WHERE name = :c"),
        {"v": base + len(pending), "c": COUNTER},
    )


def _assign_sqlite(connection: Connection) -> None:
    """Number this transaction's changes, without writing in a read-only transaction.

    Only the open transaction can hold unnumbered changes (one writer at a time), and a
    read transaction sees none, so the UPDATE runs only when the indexed probe finds one:
    an UPDATE in a read (a GET's transaction) would upgrade it to a write, which SQLite
    refuses at once ("database is locked") when another writer has committed meanwhile.
    """
    probe = "SELECT 1 FROM sync_change WHERE commit_seq IS NULL LIMIT 1"
    if connection.exec_driver_sql(probe).first() is not None:
        connection.exec_driver_sql(
            "UPDATE sync_change SET commit_seq = seq WHERE commit_seq IS NULL"
        )


def visible_through(connection: Connection) -> int:
    """The highest commit_seq below which every change is committed and visible."""
    if connection.dialect.name == "sqlite":
        value: Any = connection.execute(text("SELECT max(commit_seq) FROM sync_change")).scalar()
    else:
        value = connection.execute(
            text("SELECT value FROM sync_counter WHERE name = :n"), {"n": COUNTER}
        ).scalar()
    return int(value or 0)
