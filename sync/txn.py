"""Transaction begin mode on SQLite: whether a transaction takes the write lock at BEGIN.

A transaction that reads and then writes must hold SQLite's write lock from its first
statement, or a concurrent writer leaves it with a stale snapshot it cannot commit. The
flag is a context variable read by the engine's `begin` hook (`install`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, event

_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


@contextlib.contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock at BEGIN, so a
    read-check-write (booking a slot, dispensing stock, applying a batch) cannot race."""
    token = _write_intent.set(True)
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


def install(engine: Engine) -> None:
    """Emit BEGIN or BEGIN IMMEDIATE on an SQLite engine according to the flag."""
    event.listen(engine, "begin", _begin)


def _begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
