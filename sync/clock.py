"""Hybrid logical clocks: change versions that order correctly despite bad wall clocks.

A version is `<16 hex digits>@<node>`: 48 bits of milliseconds and a 16-bit counter,
then the node that made the change. Versions compare as plain strings, so databases
can order and index them, and ties between nodes break the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_COUNTER_BITS = 16
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1
_MILLIS_MAX = (1 << 48) - 1
_HLC_HEX = 16
# Exactly 16 lowercase hex digits and a node id: versions compare as strings and the
# capture triggers read the node at a fixed offset, so one of any other shape would
# order wrongly everywhere (a 17th digit sorts below every real version).
_VERSION = re.compile(r"^([0-9a-f]{16})@([A-Za-z0-9_-]{1,32})$")


@dataclass(frozen=True, order=True)
class Version:
    """One parsed version: physical milliseconds, logical counter, node."""

    millis: int
    counter: int
    node: str

    def __str__(self) -> str:
        if not 0 <= self.millis <= _MILLIS_MAX or not 0 <= self.counter <= _COUNTER_MAX:
            raise ValueError(f"a version out of range: {self.millis}, {self.counter}")
        packed = (self.millis << _COUNTER_BITS) | self.counter
        return f"{packed:0{_HLC_HEX}x}@{self.node}"

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse `<16 lowercase hex digits>@<node>`; raises ValueError on anything else."""
        match = _VERSION.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a version: {text!r}")
        packed = int(match.group(1), 16)
        return cls(packed >> _COUNTER_BITS, packed & _COUNTER_MAX, match.group(2))


def millis_of(version: str) -> int:
    """The physical milliseconds of a well-formed version."""
    return Version.parse(version).millis


def node_of(version: str) -> str:
    """The node that made the change carrying this version."""
    return version.partition("@")[2]


def wall_millis() -> int:
    return time.time_ns() // 1_000_000


def naive_utc(moment: dt.datetime) -> dt.datetime:
    """`moment` as the naive UTC value the bookkeeping tables store."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


class HybridLogicalClock:
    """A thread-safe HLC for one node: `tick` for local changes, `observe` for remote ones."""

    def __init__(self, node: str, wall: Callable[[], int] = wall_millis) -> None:
        if not node or "@" in node:
            raise ValueError(f"invalid node id: {node!r}")
        self.node = node
        self._wall = wall
        self._millis = 0
        self._counter = 0
        self._lock = threading.Lock()

    def tick(self) -> str:
        """A new version, greater than every version this clock has made or observed."""
        with self._lock:
            now = self._wall()
            if now > self._millis:
                self._millis, self._counter = now, 0
            else:
                self._advance_counter()
            return str(Version(self._millis, self._counter, self.node))

    def observe(self, version: str) -> None:
        """Move past a version seen from elsewhere so later local changes order after it."""
        seen = Version.parse(version)
        with self._lock:
            if (seen.millis, seen.counter) > (self._millis, self._counter):
                self._millis, self._counter = seen.millis, seen.counter

    def _advance_counter(self) -> None:
        if self._counter == _COUNTER_MAX:
            self._millis, self._counter = self._millis + 1, 0
        else:
            self._counter += 1
