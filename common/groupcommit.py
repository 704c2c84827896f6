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

A writer already holding the database's write lock can also take the waiting records
into its own transaction (`lend`): they then commit with it, without waiting for the
writer to finish and then writing a transaction of their own.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(eq=False)  # each request's own, however alike their items
class _Ticket(Generic[T]):
    item: T
    done: bool = False
    error: BaseException | None = None


Turn = Callable[[Callable[[], bool]], AbstractContextManager[bool]]


@contextlib.contextmanager
def _any_time(_unless: Callable[[], bool]) -> Iterator[bool]:
    yield True


class GroupCommit(Generic[T]):
    """Items submitted from many threads, written in batches in the order they arrived."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: list[_Ticket[T]] = []
        self._leading = False

    def submit(self, item: T, write: Callable[[list[T]], None], turn: Turn | None = None) -> None:
        """Return once `item` is committed, or raise what its batch failed with. `write`
        commits a batch in one transaction; it runs only if this caller leads, once
        `turn` lets it (a context yielding whether to write: False once the leader's own
        item was committed meanwhile by a writer it was lent to, see `lend`; without one,
        at once)."""
        ticket = _Ticket(item)
        with self._changed:
            self._waiting.append(ticket)
        while True:
            with self._changed:
                while self._leading and not ticket.done:
                    self._changed.wait()
                if ticket.done:
                    break
                self._leading = True  # no batch is being written and ours is not yet: lead
            self._lead(ticket, write, turn or _any_time)
        if ticket.error is not None:
            raise ticket.error

    def _lead(self, ticket: _Ticket[T], write: Callable[[list[T]], None], turn: Turn) -> None:
        batch: list[_Ticket[T]] = []
        error: BaseException | None = None
        try:
            with turn(lambda: ticket.done) as ours:
                if ours:  # the batch is what waits once it can be written at once
                    with self._changed:
                        batch, self._waiting = self._waiting, []
                    if batch:
                        write([waiting.item for waiting in batch])
        except BaseException as failure:  # every request of the batch must hear of it
            error = failure
        with self._changed:
            if error is not None and ticket in self._waiting:  # failed before taking it
                self._waiting.remove(ticket)
                batch.append(ticket)
            for taken in batch:
                taken.done, taken.error = True, error
            self._leading = False
            self._changed.notify_all()

    def lend(self) -> Loan[T] | None:
        """The items waiting now, for a writer to commit in its own transaction; nothing
        is lent if nothing waits. The writer settles the loan when its transaction ends."""
        with self._changed:
            if not self._waiting:
                return None
            lent, self._waiting = self._waiting, []
        return Loan(self, lent)

    def _settle(self, tickets: list[_Ticket[T]], committed: bool) -> None:
        with self._changed:
            if committed:
                for ticket in tickets:
                    ticket.done = True
            else:  # the writer's failure is not theirs: back to the front of the queue
                self._waiting[:0] = tickets
            self._changed.notify_all()


class Loan(Generic[T]):
    """Waiting items a writer took into its transaction. Committed, their requests
    return; rolled back, they go back to wait, ahead of those that came later, for the
    next leader (a writer's failure is its own, not theirs)."""

    def __init__(self, group: GroupCommit[T], tickets: list[_Ticket[T]]) -> None:
        self._group, self._tickets = group, tickets

    @property
    def items(self) -> list[T]:
        return [ticket.item for ticket in self._tickets]

    def settle(self, committed: bool) -> None:
        self._group._settle(self._tickets, committed)


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
