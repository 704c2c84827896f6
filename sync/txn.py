"""Transaction begin mode on SQLite: whether a transaction takes the write lock at BEGIN,
and the queue this process's writers wait in for it.

A transaction that reads and then writes must hold SQLite's write lock from its first
statement, or a concurrent writer leaves it with a stale snapshot it cannot commit. The
flag is a context variable read by the engine's `begin` hook (`install`).

While one transaction holds the write lock, a second `BEGIN IMMEDIATE` waits in SQLite's
busy handler, which sleeps and polls (1, 2, 5, ... up to 100 ms between tries): the lock
often sits free while its waiters sleep, and a waiter may lose to newcomers again and
again. So the writers of one process first queue at a `WriteGate`, handed on the moment
the holder's COMMIT or ROLLBACK returns. The gate only orders writers; SQLite's lock still
decides, and still guards against writers in other processes (the sync job). The
writer at the head of the queue does not wait in the busy handler either: it tries
`BEGIN IMMEDIATE` every millisecond (`_begin_immediate`), so it takes the lock within a
millisecond of the sync job committing one of its slices, until the busy timeout.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

POLL_SECONDS = 0.001  # between tries for a write lock another process holds
_gates: weakref.WeakKeyDictionary[Engine, WriteGate] = weakref.WeakKeyDictionary()
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


@contextlib.contextmanager
def write_intent(intended: bool = True) -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at BEGIN, so a
    read-check-write (booking a slot, dispensing stock, applying a batch) cannot race;
    with `intended` false they do not, for a long read inside a write request."""
    token = _write_intent.set(intended)
    try:
        yield
    finally:
        _write_intent.reset(token)


def write_intended() -> bool:
    """Whether transactions begun now take the write lock (true in write requests)."""
    return _write_intent.get()


def set_write_intent(value: bool) -> contextvars.Token[bool]:
    return _write_intent.set(value)


def reset_write_intent(token: contextvars.Token[bool]) -> None:
    _write_intent.reset(token)


class WriteGate:
    """One write transaction at a time among this engine's connections, in arrival order
    as far as the operating system's lock hands it on."""

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._holder: Any = None
        self.timeout = timeout

    def enter(self, dbapi_connection: Any) -> None:
        """Wait for the gate; past the busy timeout go on without it, so a holder that
        never left degrades to plain SQLite waiting rather than stopping every write."""
        if self._lock.acquire(timeout=self.timeout):
            self._holder = dbapi_connection
        else:
            log.warning("write gate not free after %.0f s; waiting on SQLite alone", self.timeout)

    @property
    def held(self) -> bool:
        return self._lock.locked()

    def leave(self, dbapi_connection: Any) -> None:
        """Hand the gate on, if this connection holds it (a read transaction never does)."""
        if self._holder is not None and self._holder is dbapi_connection:
            self._holder = None
            self._lock.release()


def install(engine: Engine, busy_timeout: float) -> None:
    """Emit BEGIN or BEGIN IMMEDIATE on an SQLite engine according to the flag; writers
    queue at the engine's gate before BEGIN IMMEDIATE and leave it once their transaction
    has ended. SQLAlchemy has no event after a commit, only before one, so the gate wraps
    this engine's own dialect's commit, rollback (also the pool's reset) and close."""
    gate = _gates[engine] = WriteGate(busy_timeout)
    event.listen(engine, "begin", functools.partial(_begin, gate))
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close"):
        setattr(dialect, name, _leaving(gate, getattr(dialect, name)))


def gate_of(engine: Engine) -> WriteGate:
    """The gate the engine's writers queue at (installed by `install`)."""
    return _gates[engine]


def _begin(gate: WriteGate, connection: Any) -> None:
    if not _write_intent.get():
        connection.exec_driver_sql("BEGIN")
        return
    raw = connection.connection.dbapi_connection
    gate.enter(raw)
    try:
        _begin_immediate(connection, raw, gate.timeout)
    except BaseException:
        gate.leave(raw)
        raise


def _begin_immediate(connection: Any, raw: Any, timeout: float) -> None:
    """BEGIN IMMEDIATE, tried every millisecond while another process holds the lock,
    and once more past `timeout` to fail as SQLite's busy handler would ("database is
    locked", through SQLAlchemy). The busy handler's own sleeps grow to 100 ms, so a
    waiter slept on while the lock sat free."""
    busy = connection.dialect.loaded_dbapi.OperationalError
    deadline = time.monotonic() + timeout
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        while time.monotonic() < deadline:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except busy as error:
                if "locked" not in str(error):
                    break  # not the lock: the last try raises it as SQLAlchemy's error
            time.sleep(POLL_SECONDS)
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")


def _leaving(gate: WriteGate, end: Callable[[Any], None]) -> Callable[[Any], None]:
    def ended(dbapi_connection: Any) -> None:
        try:
            end(dbapi_connection)
        finally:  # the pool's proxy or the raw connection, depending on the caller
            gate.leave(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))

    return ended
