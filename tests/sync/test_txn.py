"""A writer waiting for SQLite's lock, held by another process (the sync job), takes it
within milliseconds of its release, and still gives up as SQLite would after the busy
timeout."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from sync import txn
from sync.txn import write_intent


def gated_engine(path: Path, busy_timeout: float) -> Engine:
    setup = other_process(path)
    setup.execute("PRAGMA journal_mode = WAL")
    setup.execute("CREATE TABLE note (n INTEGER)")
    setup.close()
    engine = create_engine(f"sqlite:///{path}", connect_args={"isolation_level": None})
    txn.install(engine, busy_timeout)
    return engine


def other_process(path: Path) -> sqlite3.Connection:
    """A connection outside the engine and its gate, as the sync job's would be."""
    return sqlite3.connect(path, isolation_level=None)


def test_a_waiting_writer_takes_the_lock_within_milliseconds_of_its_release(
    tmp_path: Path,
) -> None:
    """SQLite's own busy handler sleeps up to 100 ms between tries: a writer that has
    waited 0.45 s sleeps on for some 80 ms after the lock is freed."""
    path = tmp_path / "edge.db"
    engine = gated_engine(path, busy_timeout=5.0)
    holder = other_process(path)
    delays = []

    def write(began: list[float]) -> None:
        with write_intent(), engine.begin() as connection:
            began.append(time.monotonic())
            connection.execute(text("INSERT INTO note VALUES (1)"))

    for _ in range(5):
        holder.execute("BEGIN IMMEDIATE")
        began: list[float] = []
        writer = threading.Thread(target=write, args=(began,))
        writer.start()
        time.sleep(0.45)
        holder.execute("COMMIT")
        released = time.monotonic()
        writer.join(5)
        delays.append(began[0] - released)
    holder.close()
    engine.dispose()
    assert statistics.median(delays) < 0.02, delays


def test_past_the_busy_timeout_the_writer_gets_database_is_locked(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    engine = gated_engine(path, busy_timeout=0.3)
    holder = other_process(path)
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        with write_intent(), engine.begin() as connection:
            connection.execute(text("INSERT INTO note VALUES (1)"))
    waited = time.monotonic() - started
    holder.execute("ROLLBACK")
    assert 0.3 <= waited < 2.0
    with engine.connect() as connection:  # the connection's own timeout is as configured
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 300
    with write_intent(), engine.begin() as connection:  # and it writes once the lock is free
        connection.execute(text("INSERT INTO note VALUES (2)"))
    holder.close()
    engine.dispose()
