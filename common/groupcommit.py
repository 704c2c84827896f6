"""Group commit: the small writes of many concurrent requests in one transaction.

A database commits one transaction at a time, and each durable commit costs a flush to
disk (`synchronous=FULL` on the edge). When many requests each need one small record
committed before they may answer (a read's audit record), committing them one by one
makes them queue behind each other and behind every other writer. Here the first
request to arrive leads: it takes every record waiting, writes them all in one
transaction and commits once; the requests that arrive meanwhile wait for the next
leader, who is one of them. Each request returns only once the transaction holding its
record has committed, and every request of a failed batch gets the failure, so nothing
is ever acknowledged that was not durably written. No thread of its own, no extra
connection: the leader writes through its own request's session.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Ticket(Generic[T]):
    item: T
    done: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[T]):
    """Items submitted from many threads, written in batches in the order they arrived."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: list[_Ticket[T]] = []
        self._leading = False

    def submit(self, item: T, write: Callable[[list[T]], None]) -> None:
        """Return once `item` is committed, or raise what its batch failed with. `write`
        commits a batch in one transaction; it runs only if this caller leads."""
        ticket = _Ticket(item)
        batch: list[_Ticket[T]] = []
        with self._changed:
            self._waiting.append(ticket)
            while self._leading and not ticket.done:
                self._changed.wait()
            if not ticket.done:  # no batch is being written and ours is not yet: lead
                self._leading = True
                batch, self._waiting = self._waiting, []
        if batch:
            self._lead(batch, write)
        if ticket.error is not None:
            raise ticket.error

    def _lead(self, batch: list[_Ticket[T]], write: Callable[[list[T]], None]) -> None:
        error: BaseException | None = None
        try:
            write([ticket.item for ticket in batch])
        except BaseException as failure:  # every request of the batch must hear of it
            error = failure
        with self._changed:
            for ticket in batch:
                ticket.done, ticket.error = True, error
            self._leading = False
            self._changed.notify_all()


class PerEngine(Generic[T]):
    """One `GroupCommit` per database engine (each app, each test database its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: weakref.WeakKeyDictionary[object, GroupCommit[T]] = (
            weakref.WeakKeyDictionary()
        )

    def of(self, engine: object) -> GroupCommit[T]:
        with self._lock:
            group = self._groups.get(engine)
            if group is None:
                group = self._groups[engine] = GroupCommit()
            return group
