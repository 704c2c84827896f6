"""Row ids: UUIDv7 (RFC 9562) made where the row is born, unique without coordination.

The 74 bits after the millisecond timestamp are not random per id here: a 12-bit counter
(RFC 9562, section 6.2, method 1) orders the ids one process makes within a millisecond,
and a 62-bit tag drawn once per process (section 6.4, an identifier of the generator)
keeps them apart from every other process's, on this node and any other. So two
processes collide only if they draw the same tag (about one chance in 10^19 per pair)
and then make an id in the same millisecond with the same count.

Why not random: an id is written once and then travels in every change of its row and
in every row that refers to it. Random bits are the one thing no compressor shrinks, and
a day of a clinic's work carries about 4,600 of them; with the tag repeating, the sync
sends each id in a few bytes instead of ten (docs/BENCHMARKS.md, sections 1 and 2). Ids
are names, never secrets: nothing is reached by knowing one without the role and
vehicle that may see it, and tokens are drawn with `secrets` on their own. No library
makes this layout (`uuid6.uuid7` and Python 3.14's `uuid.uuid7` fill the bits with
randomness), and it is a few lines of bit arithmetic on the standard `uuid`.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid

_MILLIS = (1 << 48) - 1
_COUNT = (1 << 12) - 1


class RowIds:
    """Makes one process's ids: increasing, each timestamp the wall clock's millisecond
    or, after 4,096 ids in one millisecond or a clock set back, the next free one."""

    def __init__(self) -> None:
        self.renew()

    def renew(self) -> None:
        """A new tag, lock and count: for a new process, e.g. after a fork."""
        self._lock = threading.Lock()
        self._tag = secrets.randbits(62)
        self._millis = -1
        self._count = 0

    def new(self) -> str:
        with self._lock:
            now = time.time_ns() // 1_000_000
            if now > self._millis:
                self._millis, self._count = now, 0
            elif self._count < _COUNT:
                self._count += 1
            else:
                self._millis, self._count = self._millis + 1, 0
            fields = (self._millis & _MILLIS) << 80 | 0x7 << 76 | self._count << 64
            return str(uuid.UUID(int=fields | 0b10 << 62 | self._tag))


_ids = RowIds()
os.register_at_fork(after_in_child=_ids.renew)


def new_id() -> str:
    """A new row id (see the module's docstring)."""
    return _ids.new()


# Names made from a row's natural key: one namespace for the product, fixed for good.
_NAMES = uuid.UUID("0190d1a0-6e61-7d65-8000-6d6f62696c65")


def named_id(kind: str, *key: str) -> str:
    """The id of the row that `key` names (a vehicle's lot of an item by batch number,
    say), the same wherever it is made: two laptops of one vehicle that take in the same
    physical batch offline make one row between them, merged by sync, instead of two
    rows that collide on the key at the hub (RFC 9562 version 5: SHA-1 of the name)."""
    name = "\x1f".join((kind, *(part.strip().casefold() for part in key)))
    return str(uuid.uuid5(_NAMES, name))
