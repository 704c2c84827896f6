"""The sandbox's state: one small SQLite file, so members, claims and idempotency keys
survive a restart exactly as a real scheme's would."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The claim table's columns, kept apart so a file made before reversals can be brought up
# to date (`_upgrade`). `replaces`: the claim a correction says it replaces.
CLAIM_COLUMNS = """
    claim_id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    member_number TEXT NOT NULL,
    dependant_code TEXT NOT NULL,
    practice_number TEXT NOT NULL,
    service_date TEXT NOT NULL,
    reference TEXT,
    icd10_codes TEXT NOT NULL,
    lines TEXT NOT NULL,
    duplicate_key TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'paid', 'reversed')),
    reasons TEXT NOT NULL,
    claimed_amount TEXT NOT NULL,
    approved_amount TEXT NOT NULL,
    received_at TEXT NOT NULL,
    remittance_id TEXT REFERENCES remittance,
    replaces TEXT
"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS member (
    member_number TEXT NOT NULL,
    dependant_code TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    relationship TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to TEXT,
    PRIMARY KEY (member_number, dependant_code)
);
-- Append-only: every status a member has had, and the feed of changes (its sequence
-- is the feed cursor; AUTOINCREMENT never reuses one).
CREATE TABLE IF NOT EXISTS member_status (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    member_number TEXT NOT NULL,
    dependant_code TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'terminated')),
    effective_date TEXT NOT NULL,
    reason TEXT,
    recorded_at TEXT NOT NULL,
    FOREIGN KEY (member_number, dependant_code) REFERENCES member
);
CREATE INDEX IF NOT EXISTS ix_member_status_member
    ON member_status (member_number, dependant_code, effective_date);
CREATE TABLE IF NOT EXISTS remittance (
    remittance_id TEXT PRIMARY KEY,
    paid_date TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claim ("""
    + CLAIM_COLUMNS
    + """);
CREATE INDEX IF NOT EXISTS ix_claim_duplicate ON claim (duplicate_key, status);
CREATE INDEX IF NOT EXISTS ix_claim_status ON claim (status);
-- At most one reversal per claim; a paid claim's reversal is recovered by a later pay run.
CREATE TABLE IF NOT EXISTS reversal (
    reversal_id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL UNIQUE REFERENCES claim,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    reason TEXT NOT NULL,
    amount TEXT NOT NULL,
    reversed_at TEXT NOT NULL,
    recovered_in TEXT REFERENCES remittance
);
"""
)


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode: writes go through `transaction` only."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def initialise(path: Path, *, reset: bool = False) -> None:
    """Create the file and its tables (or start afresh with `reset`); WAL survives a kill."""
    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = connect(path)
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        _upgrade(connection)
        connection.executescript(SCHEMA)
    finally:
        connection.close()


def _upgrade(connection: sqlite3.Connection) -> None:
    """A file made before reversals keeps its claims: its claim table is made again with
    `replaces` and the status `reversed` (SQLite's procedure for changing a table:
    foreign keys off, copy, drop, rename, check)."""
    columns = [row["name"] for row in connection.execute("PRAGMA table_info(claim)")]
    if not columns or "replaces" in columns:
        return
    names = ", ".join(columns)  # the file's own column names, all known ones
    connection.execute("PRAGMA foreign_keys = OFF")
    try:
        with transaction(connection):
            connection.execute(f"CREATE TABLE claim_new ({CLAIM_COLUMNS})")
            connection.execute(f"INSERT INTO claim_new ({names}) SELECT {names} FROM claim")  # noqa: S608  # nosec B608 - column names read from the file's schema
            connection.execute("DROP TABLE claim")
            connection.execute("ALTER TABLE claim_new RENAME TO claim")
            if connection.execute("PRAGMA foreign_key_check").fetchall():
                raise sqlite3.IntegrityError("claims refer to rows that are missing")
    finally:
        connection.execute("PRAGMA foreign_keys = ON")


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One serialised write: BEGIN IMMEDIATE takes the write lock before the first read,
    so check-then-insert (idempotency keys, duplicates) cannot race another writer."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def now() -> str:
    """The current UTC time as stored and shown: ISO 8601 with a Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def today() -> dt.date:
    """The sandbox's business date: the host's local date, as a scheme's would be."""
    return dt.date.today()


@contextmanager
def opened(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the file, created and migrated first if needed; closed after."""
    initialise(path)
    connection = connect(path)
    try:
        yield connection
    finally:
        connection.close()
