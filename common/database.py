"""Engines and sessions for both apps, and the SQLCipher connection factory of the edge.

The edge database is opened only through `sqlcipher_engine_options`: a raw 256-bit key
(no passphrase derivation per connection), WAL with synchronous=FULL so saved work
survives a power cut, foreign keys on, and explicit BEGIN / BEGIN IMMEDIATE so a write
transaction holds SQLite's write lock from its first statement.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlcipher3
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import schema
from common.files import private_database
from sync import sequence, txn
from sync.txn import (  # noqa: F401 - part of this module's API
    reset_write_intent,
    set_write_intent,
    write_intended,
    write_intent,
)

db = SQLAlchemy(metadata=schema.metadata, session_options={"expire_on_commit": False})

KEY_BYTES = 32
BUSY_TIMEOUT_SECONDS = 15.0

T = TypeVar("T")


class DatabaseKeyError(RuntimeError):
    """The database file cannot be opened with the key given (wrong key, or not ours)."""


@contextlib.contextmanager
def transaction_apart(session: Session, *, discard_open: bool = False) -> Iterator[Session]:
    """Run a block in its own write transaction that commits on its own.

    The session's open transaction is ended first: committed (a GET's read, which must
    never be upgraded to a write: SQLite fails that with a stale snapshot), or rolled
    back with `discard_open` (a failing request, whose record must outlive its rollback).
    """
    if discard_open:
        session.rollback()
    else:
        session.commit()
    with write_intent(), session.begin():
        yield session


def committed(session: Session, answer: T) -> T:
    """Commit, then return `answer`, built by the caller before the commit: a request
    that writes takes SQLite's write lock with each transaction it begins, so reading for
    its answer after the commit would take the lock again until the request ends."""
    session.commit()
    return answer


def locked_row(session: Session, model: type[T], key: Any, make: Callable[[], T]) -> T:
    """The row of `model` with primary key `key`, freshly read and locked for update
    (SELECT ... FOR UPDATE on MySQL); made with `make()` first when it does not exist,
    tolerating another process making it at the same moment."""
    row = _select_for_update(session, model, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(make())
        except IntegrityError:
            pass  # made meanwhile by another process: lock theirs
        row = _select_for_update(session, model, key)
    if row is None:
        raise RuntimeError(f"{model.__name__} {key!r} could not be created")
    return row


def _select_for_update(session: Session, model: type[T], key: Any) -> T | None:
    return session.get(model, key, with_for_update=True, populate_existing=True)


def parse_key(hex_key: str) -> bytes:
    """A raw key from its 64-character hex form; ValueError with a clear message otherwise."""
    try:
        key = bytes.fromhex(hex_key.strip())
    except ValueError:
        raise ValueError("database key must be 64 hexadecimal characters") from None
    if len(key) != KEY_BYTES:
        raise ValueError("database key must be 64 hexadecimal characters (256 bits)")
    return key


# Each page read from disk is authenticated before use, and SQLite refills a connection's
# page cache after every other connection's commit (see EDGE_POOL), so this runs on most
# requests. HMAC-SHA256 runs on the CPU's SHA instructions at 2.6 times the speed of
# SQLCipher 4's default HMAC-SHA512 (1.4 against 0.54 GB/s for 4 KB pages here), with
# the same AES-256 encryption and a 256-bit tag. New databases use it; one made before
# (SHA-512) opens with the default, and its backup copy is written with SHA-256.
PAGE_HMAC = "HMAC_SHA256"


def sqlcipher_connect(path: Path | str, key: bytes) -> sqlcipher3.Connection:
    """Open an encrypted database with a raw key and prove the key is right."""
    if len(key) != KEY_BYTES:
        raise DatabaseKeyError("database key must be 256 bits")
    for hmac in (PAGE_HMAC, None):  # None: the default of databases made before
        conn = sqlcipher3.connect(
            str(path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False, isolation_level=None
        )
        conn.execute("PRAGMA cipher_log_level = NONE")  # our exception says it more clearly
        conn.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        if hmac is not None:
            conn.execute(f"PRAGMA cipher_hmac_algorithm = {hmac}")
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlcipher3.DatabaseError:
            conn.close()
            continue
        return conn
    raise DatabaseKeyError(
        f"{path} cannot be opened with this key: wrong key, or not an encrypted clinic database"
    )


# SQLite drops a connection's whole page cache when another connection has committed
# since its last transaction, and under SQLCipher refilling it means decrypting and
# authenticating every page again. Every edge request commits (at least its audit
# record), so a pool handing out its connections in turn (the default, first in first
# out) gives each request a connection whose cache another one has just invalidated. Last
# in first out hands out the connection returned last, whose transaction ended after every
# other's, so its cache is still good; the others are used only while it is busy.
EDGE_POOL = {"pool_use_lifo": True}


def sqlcipher_engine_options(path: Path | str, key: bytes) -> dict[str, Any]:
    """Engine options (for Flask-SQLAlchemy or `create_engine`) that open `path` encrypted."""

    def creator() -> sqlcipher3.Connection:
        private_database(Path(path))
        return sqlcipher_connect(path, key)

    return {"creator": creator, "module": sqlcipher3, **EDGE_POOL}


def sqlcipher_engine(path: Path | str, key: bytes) -> Engine:
    """A configured engine for an encrypted edge database, for use outside Flask."""
    engine = create_engine(f"sqlite:///{path}", **sqlcipher_engine_options(path, key))
    configure_engine(engine)
    return engine


def new_session(engine: Engine) -> Session:
    """A session for work outside Flask (CLIs, sync jobs, provisioning)."""
    return Session(engine, expire_on_commit=False)


def plain_engine(url: str) -> Engine:
    """An engine for the hub's database (MySQL in production, SQLite by default)."""
    engine = create_engine(url, **engine_options(url))
    configure_engine(engine)
    return engine


# A hub request can hold two connections at once (the request's session and a sync
# exchange's own transaction), so the pool keeps enough for every serving thread;
# a connection opened beyond the pool is closed when returned, and opening one costs
# more than many of the statements it then runs.
POOL_SIZE = 20


def engine_options(url: str) -> dict[str, Any]:
    if make_url(url).get_backend_name() == "mysql":
        return {
            "pool_pre_ping": True,
            "pool_recycle": 3600,
            "pool_size": POOL_SIZE,
            "max_overflow": POOL_SIZE,
            "isolation_level": "READ COMMITTED",
        }
    return {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS, "isolation_level": None}}


def configure_engine(engine: Engine) -> None:
    """Commit ordering of the change log on every engine; per-connection settings and
    the transaction begin mode on SQLite-family engines."""
    sequence.install(engine)
    if engine.dialect.name != "sqlite":
        return
    file = engine.url.database
    if file and file != ":memory:" and not file.startswith("file:"):
        # The hub's default database file; an edge's engine does this in its creator.
        event.listen(engine, "do_connect", lambda *_: private_database(Path(file)))
    event.listen(engine, "connect", _sqlite_pragmas)
    txn.install(engine, BUSY_TIMEOUT_SECONDS)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    for pragma in (
        "journal_mode = WAL",
        "synchronous = FULL",
        "foreign_keys = ON",
        f"busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}",
    ):
        dbapi_connection.execute(f"PRAGMA {pragma}")
