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

A writer in the gate can carry other threads' small writes in its own commit (the audit
records of reads, `common.audit`): they would otherwise wait for it to finish and then
queue for a transaction of their own. The gate tells what rode on a transaction whether
it committed, once COMMIT or ROLLBACK has returned and before the next writer enters.
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


_RESERVED = object()  # the gate's holder while a thread waits to begin its transaction


class WriteGate:
    """One write transaction at a time among this engine's connections.

    Besides queueing for its own transaction, a holder can take other work into its
    commit (`on_end`: told whether the transaction committed), and a thread can wait for
    its turn before it begins a transaction (`turn`), giving up once something else no
    longer needs it to write: how a read's audit record rides on a writer's commit
    (`common.audit`).
    """

    def __init__(self, timeout: float) -> None:
        self._changed = threading.Condition()
        self._holder: Any = None  # the connection in the gate, _RESERVED, or None
        self._thread: int | None = None
        self._on_end: list[Callable[[bool], None]] = []
        self.timeout = timeout

    def enter(self, dbapi_connection: Any) -> None:
        """Wait for the gate (or take up this thread's turn); past the busy timeout go on
        without it, so a holder that never left degrades to plain SQLite waiting rather
        than stopping every write."""
        with self._changed:
            if self._holder is _RESERVED and self._thread == threading.get_ident():
                self._holder = dbapi_connection
            else:
                self._take(dbapi_connection, lambda: False)

    @contextlib.contextmanager
    def turn(self, unless: Callable[[], bool]) -> Iterator[bool]:
        """Wait until this thread may write, yielding True, or until `unless()` holds,
        yielding False. The next write transaction this thread begins takes the turn up;
        one never begun gives it back when the block ends."""
        with self._changed:
            ours = self._take(_RESERVED, unless) != "overtaken"
        try:
            yield ours
        finally:
            with self._changed:
                if self._holder is _RESERVED and self._thread == threading.get_ident():
                    self._hand_on()

    def _take(self, holder: Any, unless: Callable[[], bool]) -> str:
        deadline = time.monotonic() + self.timeout
        while not unless():
            if self._holder is None:
                self._holder, self._thread = holder, threading.get_ident()
                return "taken"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                log.warning("write gate not free after %.0f s; on SQLite alone", self.timeout)
                return "timed out"
            self._changed.wait(remaining)
        return "overtaken"

    @property
    def held(self) -> bool:
        return self._holder is not None

    def held_here(self) -> bool:
        """Whether this thread's write transaction is the one in the gate."""
        holder = self._holder
        attached = holder is not None and holder is not _RESERVED
        return attached and self._thread == threading.get_ident()

    def on_end(self, settle: Callable[[bool], None]) -> None:
        """Call `settle(committed)` when the holder's transaction ends (holder only)."""
        self._on_end.append(settle)

    def leave(self, dbapi_connection: Any, *, committed: bool = False) -> None:
        """Hand the gate on, if this connection holds it (a read transaction never does),
        settling first what rode on its commit."""
        with self._changed:
            if self._holder is not None and self._holder is dbapi_connection:
                riders, self._on_end = self._on_end, []
                for settle in riders:
                    settle(committed)
                self._hand_on()

    def _hand_on(self) -> None:
        self._holder = self._thread = None
        self._changed.notify_all()


def install(engine: Engine, busy_timeout: float) -> None:
    """Emit BEGIN or BEGIN IMMEDIATE on an SQLite engine according to the flag; writers
    queue at the engine's gate before BEGIN IMMEDIATE and leave it once their transaction
    has ended. SQLAlchemy has no event after a commit, only before one, so the gate wraps
    this engine's own dialect's commit, rollback (also the pool's reset) and close."""
    gate = _gates[engine] = WriteGate(busy_timeout)
    event.listen(engine, "begin", functools.partial(_begin, gate))
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback", "do_close"):
        setattr(dialect, name, _leaving(gate, getattr(dialect, name), name == "do_commit"))


def gate_of(engine: Engine) -> WriteGate | None:
    """The gate the engine's writers queue at (installed by `install`; none on MySQL)."""
    return _gates.get(engine)


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


def _leaving(gate: WriteGate, end: Callable[[Any], None], commits: bool) -> Callable[[Any], None]:
    def ended(dbapi_connection: Any) -> None:
        committed = False
        try:
            end(dbapi_connection)
            committed = commits
        finally:  # the pool's proxy or the raw connection, depending on the caller
            raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)
            gate.leave(raw, committed=committed)

    return ended
