"""The edge database is encrypted at rest and durable: unreadable without its key, a
clear error with the wrong one, WAL with synchronous=FULL and foreign keys on."""

from __future__ import annotations

import os
import secrets
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from common.database import (
    PAGE_HMAC,
    DatabaseKeyError,
    db,
    parse_key,
    plain_engine,
    sqlcipher_connect,
    sqlcipher_engine,
    write_intent,
)
from sync.txn import gate_of
from tests.conftest import migrated_edge_file

CANARY = "Nomvula-Canary-Zwane"


@pytest.fixture
def encrypted(tmp_path: Path) -> tuple[Path, bytes]:
    key = secrets.token_bytes(32)
    path = tmp_path / "edge.db"
    conn = sqlcipher_connect(path, key)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE note (body TEXT)")
    conn.execute("INSERT INTO note VALUES (?)", (CANARY,))
    conn.close()
    return path, key


def test_readable_with_the_key(encrypted: tuple[Path, bytes]) -> None:
    path, key = encrypted
    conn = sqlcipher_connect(path, key)
    assert conn.execute("SELECT body FROM note").fetchone() == (CANARY,)
    conn.close()


def test_unreadable_without_a_key(encrypted: tuple[Path, bytes]) -> None:
    path, _ = encrypted
    plain = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        plain.execute("SELECT * FROM sqlite_master").fetchall()
    plain.close()


def test_wrong_key_is_a_clear_error(encrypted: tuple[Path, bytes]) -> None:
    path, _ = encrypted
    with pytest.raises(DatabaseKeyError, match="cannot be opened with this key"):
        sqlcipher_connect(path, secrets.token_bytes(32))


def test_wrong_key_through_the_engine_is_the_same_clear_error(
    encrypted: tuple[Path, bytes],
) -> None:
    path, _ = encrypted
    engine = sqlcipher_engine(path, secrets.token_bytes(32))
    with pytest.raises(DatabaseKeyError):
        engine.connect()
    engine.dispose()


def test_a_new_database_authenticates_its_pages_with_hmac_sha256(
    encrypted: tuple[Path, bytes],
) -> None:
    path, key = encrypted
    conn = sqlcipher_connect(path, key)
    assert conn.execute("PRAGMA cipher_hmac_algorithm").fetchone() == (PAGE_HMAC,)
    conn.close()
    default = sqlcipher3.connect(str(path))  # SQLCipher's default settings cannot read it
    default.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    with pytest.raises(sqlcipher3.DatabaseError):
        default.execute("SELECT count(*) FROM sqlite_master").fetchone()
    default.close()


def test_an_older_hmac_sha512_database_opens_and_backs_up_as_sha256(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    path = tmp_path / "before.db"
    before = sqlcipher3.connect(str(path))  # SQLCipher 4's defaults, as laptops made it
    before.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
    before.execute("CREATE TABLE note (body TEXT)")
    before.execute("INSERT INTO note VALUES (?)", (CANARY,))
    before.commit()
    before.close()
    conn = sqlcipher_connect(path, key)
    assert conn.execute("SELECT body FROM note").fetchone() == (CANARY,)
    assert conn.execute("PRAGMA cipher_hmac_algorithm").fetchone() == ("HMAC_SHA512",)
    conn.close()
    with pytest.raises(DatabaseKeyError, match="cannot be opened with this key"):
        sqlcipher_connect(path, secrets.token_bytes(32))
    source, copy = sqlcipher_connect(path, key), sqlcipher_connect(tmp_path / "copy.db", key)
    source.backup(copy)  # as `clinic-edge backup` copies it
    source.close()
    copy.close()
    copied = sqlcipher_connect(tmp_path / "copy.db", key)
    assert copied.execute("SELECT body FROM note").fetchone() == (CANARY,)
    assert copied.execute("PRAGMA cipher_hmac_algorithm").fetchone() == (PAGE_HMAC,)
    copied.close()


def test_no_plaintext_on_disk(encrypted: tuple[Path, bytes]) -> None:
    path, _ = encrypted
    for file in path.parent.iterdir():
        assert CANARY.encode() not in file.read_bytes(), file.name


def test_no_plaintext_in_a_migrated_database_with_wal(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    path = migrated_edge_file(tmp_path / "edge.db", key)
    engine = sqlcipher_engine(path, key)
    with engine.begin() as conn:  # keep the WAL alive while we look
        conn.execute(
            text("INSERT INTO audit_chain (node, last_seq, last_hash) VALUES (:n, 0, '')"),
            {"n": CANARY},
        )
        for file in tmp_path.iterdir():
            assert CANARY.encode() not in file.read_bytes(), file.name
        assert b"CREATE TABLE" not in path.read_bytes()
    engine.dispose()


def test_connection_settings(tmp_path: Path) -> None:
    engine = sqlcipher_engine(tmp_path / "edge.db", secrets.token_bytes(32))
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
        assert conn.execute(text("PRAGMA cipher_version")).scalar()
    engine.dispose()


def test_the_edge_app_reuses_the_connection_returned_last(edge_app: Flask) -> None:
    """The connection returned last is the one whose page cache no other connection has
    invalidated since (see EDGE_POOL): the next request must get it, not an older one."""
    with edge_app.app_context():
        engine = db.engine
        first, second = engine.connect(), engine.connect()
        for conn in (first, second):
            conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
        last = second.connection.dbapi_connection
        first.close()
        second.close()
        with engine.connect() as again:
            assert again.connection.dbapi_connection is last


@pytest.mark.parametrize("bad", ["", "abc", "zz" * 32, "ab" * 31, "ab" * 33])
def test_malformed_keys_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="64 hexadecimal"):
        parse_key(bad)


def _chain_row(conn: Any, node: str) -> None:
    conn.execute(
        text("INSERT INTO audit_chain (node, last_seq, last_hash) VALUES (:n, 0, '')"), {"n": node}
    )


def test_the_write_gate_is_held_by_a_write_and_handed_on_however_it_ends(
    tmp_path: Path,
) -> None:
    """Writers of one process queue at a gate before SQLite's lock; a gate left held
    would make every later write wait out the busy timeout, so each way a write
    transaction can end must hand it on."""
    key = secrets.token_bytes(32)
    engine = sqlcipher_engine(migrated_edge_file(tmp_path / "edge.db", key), key)
    gate = gate_of(engine)
    with engine.connect() as conn, conn.begin():  # a read never takes it
        conn.execute(text("SELECT count(*) FROM audit_chain")).scalar()
        assert not gate.held
    with write_intent():
        with engine.begin() as conn:  # committed
            _chain_row(conn, "a")
            assert gate.held
        assert not gate.held
        with engine.connect() as conn:  # rolled back
            with conn.begin():
                _chain_row(conn, "b")
                conn.rollback()
            assert not gate.held
        with pytest.raises(IntegrityError), engine.begin() as conn:  # a failed statement
            _chain_row(conn, "a")
        assert not gate.held
        conn = engine.connect()  # the connection dropped mid-transaction
        conn.begin()
        _chain_row(conn, "c")
        conn.invalidate()
        assert not gate.held
        conn.close()
    with engine.connect() as conn:
        nodes = conn.execute(text("SELECT node FROM audit_chain ORDER BY node")).scalars()
        assert list(nodes) == ["a"]
    engine.dispose()


def test_a_turn_at_the_write_gate_is_taken_up_by_the_next_write_or_given_back(
    tmp_path: Path,
) -> None:
    """A thread waiting for its turn holds the gate until its write transaction ends; a
    turn it never uses is handed on when its block ends, and a turn it no longer needs
    (`unless`) is not taken at all."""
    key = secrets.token_bytes(32)
    engine = sqlcipher_engine(migrated_edge_file(tmp_path / "edge.db", key), key)
    gate = gate_of(engine)
    assert gate is not None
    ended: list[bool] = []
    with gate.turn(lambda: False) as ours:
        assert ours and gate.held and not gate.held_here()
        with write_intent(), engine.begin() as conn:
            _chain_row(conn, "a")
            assert gate.held_here()
            gate.on_end(ended.append)
        assert not gate.held, "the transaction took the turn up and ended it"
    assert ended == [True]
    with gate.turn(lambda: False) as ours:
        assert ours and gate.held
    assert not gate.held
    with gate.turn(lambda: True) as ours:
        assert not ours and not gate.held
    with write_intent(), engine.connect() as conn:
        with conn.begin():
            _chain_row(conn, "b")
            gate.on_end(ended.append)
            conn.rollback()
    assert ended == [True, False]
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "sqlcipher"])
def test_database_files_are_owner_only_under_a_loose_umask(tmp_path: Path, kind: str) -> None:
    """The folder, the file and its WAL and shared-memory files: patient data, whatever
    umask the process runs under."""
    path = tmp_path / "var" / "node.db"
    before = os.umask(0o022)
    try:
        engine = (
            plain_engine(f"sqlite:///{path}")
            if kind == "sqlite"
            else sqlcipher_engine(path, secrets.token_bytes(32))
        )
        with engine.connect() as conn:  # keeps the WAL open while we look
            conn.execute(text("SELECT count(*) FROM sqlite_master"))
            files = sorted(path.parent.iterdir())
            assert [f.name for f in files] == ["node.db", "node.db-shm", "node.db-wal"]
            assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        engine.dispose()
    finally:
        os.umask(before)


def test_a_database_left_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    engine = plain_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    engine.dispose()
