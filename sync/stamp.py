"""Give every write of a synced row its origin node and a fresh clock version.

ORM writes are stamped here; the capture triggers refuse any write (raw SQL included)
that does not carry a new version, so nothing reaches the database unversioned.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect, text
from sqlalchemy.orm import Mapper

from sync import capture
from sync.clock import HybridLogicalClock, millis_of, wall_millis

FLOOR_RECHECK_SECONDS = 1.0


RESUME_WINDOW = 1000  # change-log entries a resuming clock reads back


class NodeIdentityMissing(RuntimeError):
    """The database has not been initialised as a node (no row in sync_node)."""


class NodeClock:
    """The clock of the node a database belongs to, loaded from that database on first use.

    The highest version the node has applied from elsewhere (`sync_node.hlc_floor`) is
    re-read now and then, so a change made right after a sync orders after what it saw,
    even when the sync ran in another process."""

    def __init__(self) -> None:
        self._clock: HybridLogicalClock | None = None
        self._wall: Callable[[], int] = wall_millis
        self._checked = 0.0
        self._lock = threading.Lock()

    def tick(self, connection: Connection) -> str:
        clock = self._load(connection)
        if time.monotonic() - self._checked > FLOOR_RECHECK_SECONDS:
            self._observe_floor(connection, clock)
        return clock.tick()

    def tick_after(self, connection: Connection, seen: str) -> str:
        """A new version greater than `seen` (a version from elsewhere) and all before."""
        clock = self._load(connection)
        clock.observe(seen)
        return self.tick(connection)

    def node(self, connection: Connection) -> str:
        return self._load(connection).node

    def use_wall(self, wall: Callable[[], int]) -> None:
        """Read time from `wall` (a simulated laptop whose clock is wrong), from now on:
        the clock keeps what it has issued, and one loaded later still resumes from the
        database, as it would on the laptop."""
        self._wall = wall

    def observe(self, version: str) -> None:
        if self._clock is not None:
            self._clock.observe(version)

    def raise_floor(self, connection: Connection, version: str, ceiling: int | None = None) -> None:
        """Record a version applied from elsewhere, so every writing process of this node
        (they re-read the floor) orders its next change after it. Never past `ceiling`
        (milliseconds; the hub's clock plus the skew it accepts): a floor from the future
        would date every later change of this node there, for good."""
        if ceiling is not None and millis_of(version) > ceiling:
            raise ValueError(f"refusing to move the clock floor ahead to {version}")
        connection.execute(
            text("UPDATE sync_node SET hlc_floor = :v WHERE hlc_floor IS NULL OR hlc_floor < :v"),
            {"v": version},
        )
        self.observe(version)

    def _load(self, connection: Connection) -> HybridLogicalClock:
        with self._lock:
            if self._clock is None:
                row = connection.execute(text("SELECT id FROM sync_node")).first()
                if row is None:
                    raise NodeIdentityMissing(
                        "this database has no node identity; initialise it first "
                        "(clinic-edge init / clinic-hub migrate)"
                    )
                # read through: `use_wall` also moves a clock already loaded
                self._clock = HybridLogicalClock(row.id, lambda: self._wall())
                self._resume(connection, self._clock)
            return self._clock

    @staticmethod
    def _resume(connection: Connection, clock: HybridLogicalClock) -> None:
        """Start after the last version this node issued (in an earlier process): with the
        laptop's clock behind the floor, a fresh clock would otherwise issue it again, and
        the capture trigger refuses a write that repeats its row's version. The greatest
        of the latest entries, not the latest one: on MySQL concurrent transactions take
        `seq` values in an order their versions need not follow."""
        last = connection.execute(
            text(
                "SELECT max(version) FROM (SELECT version FROM sync_change WHERE node = :n "
                "ORDER BY seq DESC LIMIT :recent) AS latest"
            ),
            {"n": clock.node, "recent": RESUME_WINDOW},
        ).scalar()
        if last:
            clock.observe(last)

    def _observe_floor(self, connection: Connection, clock: HybridLogicalClock) -> None:
        floor = connection.execute(text("SELECT hlc_floor FROM sync_node")).scalar()
        if floor:
            clock.observe(floor)
        self._checked = time.monotonic()


_clocks: weakref.WeakKeyDictionary[Engine, NodeClock] = weakref.WeakKeyDictionary()
_clocks_lock = threading.Lock()


def clock_for(engine: Engine) -> NodeClock:
    """The node clock of the database behind `engine` (one per engine, made on demand)."""
    with _clocks_lock:
        clock = _clocks.get(engine)
        if clock is None:
            clock = _clocks[engine] = NodeClock()
        return clock


def _after(connection: Connection, overwritten: str | None) -> str:
    """A version for a write over `overwritten`, ordered after it: the row may have been
    written by another process whose clock runs ahead of this one's (it applied a fast
    laptop's change and this process has not re-read the floor yet), and a write that
    ordered before the value it replaced would lose to it on every replica."""
    clock = clock_for(connection.engine)
    return clock.tick_after(connection, overwritten) if overwritten else clock.tick(connection)


def _stamp_insert(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    clock = clock_for(connection.engine)
    if target.origin_node is None:
        target.origin_node = clock.node(connection)
    target.version = clock.tick(connection)


def _stamp_update(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    state = inspect(target)
    changed = any(
        state.attrs[attr.key].history.has_changes()
        for attr in mapper.column_attrs
        if attr.key != "version"
    )
    if changed:
        target.version = _after(connection, target.version)


def _stamp_delete(mapper: Mapper[Any], connection: Connection, target: Any) -> None:
    """ORM deletes record the tombstone the delete trigger requires."""
    version = _after(connection, target.version)
    capture.record_tombstone(connection, target.__table__.name, target.id, version)


def install(base: type) -> None:
    """Stamp every mapped subclass of `base` (the synced-row mixin) on insert, update
    and delete."""
    event.listen(base, "before_insert", _stamp_insert, propagate=True)
    event.listen(base, "before_update", _stamp_update, propagate=True)
    event.listen(base, "before_delete", _stamp_delete, propagate=True)
