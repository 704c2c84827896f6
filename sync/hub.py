"""The hub's side of an exchange (protocol, section 5): apply a device's batch once,
acknowledge it with a signed receipt, and send back what the vehicle should receive.

One transaction holds the device's link row locked while the batch is applied and
recorded, so two requests from one device (a retry racing its original) cannot both
apply it, and a batch already acknowledged is answered from the record. The pull is
read afterwards in its own transaction, by commit order.

With `slots` (a serving process, which has a drain), a hub process applies at most that
many batches inline at once. A push that finds none free, whose device has batches
queued already, or after which the device has more to send (it asks no pull yet) is
stored in the inbox (`sync.inbox`) and acknowledged at once, and `drain` applies it
later (holding the stored batch's row, not the link, so the device's next push is
stored meanwhile instead of waiting for the apply): over a slow link a day's first
batches are applied while the next ones travel. The last push of a sync (it asks for
the pull) is applied inline, and gets its pull, only with a slot free and the hub caught
up (nothing of any device stored): a push never waits for the drain nor goes ahead of
what is stored, so a fleet pushing at once is answered in the time it takes to store
each batch. A device left with batches queued gets no pull until they are drained (its
next sync pulls): a pull read before its own batches are applied could overwrite, on the
edge, edits the hub has not merged yet.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, Table, column, select, table, text
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from sync import chain, digest, inbox, scope, snapshot
from sync.apply import Applier, is_retryable
from sync.change import Change, materialize
from sync.clock import naive_utc, wall_millis
from sync.protocol import PULL_LIMIT, Ack, Batch, Pull, Reply, Request, SnapshotAsk
from sync.rules import MAX_AHEAD_MS, DeviceRules
from sync.sequence import visible_through
from sync.signing import sign_receipt
from sync.stamp import clock_for
from sync.txn import write_intent

ATTEMPTS = 6
DRAIN_POLL_SECONDS = 2.0  # how often a drain looks for batches another process left queued

log = logging.getLogger(__name__)

_link = table(
    "sync_link",
    column("peer"),
    column("pushed_seq"),
    column("digest"),
    column("scope_seq"),
)

AppliedHook = Callable[[Connection, Sequence[Change]], None]


@dataclass(frozen=True)
class Device:
    """An enrolled, active device and the vehicle it runs."""

    id: str
    vehicle_id: str


@dataclass
class _Pushed:
    ack: Ack
    quarantined: list[tuple[Change, str]] = field(default_factory=list)
    reported: int | None = None
    waiting: bool = False  # the device has batches queued: no pull for it yet
    rewound: bool = False  # the device has gone back in time: it re-bases, no pull


class ApplySlots:
    """How many pushed batches one hub process applies inline at once."""

    def __init__(self, count: int) -> None:
        self._free = threading.Semaphore(count)

    @contextlib.contextmanager
    def take(self) -> Iterator[bool]:
        """Whether a slot was free (and is held for the block); never waits."""
        taken = self._free.acquire(blocking=False)
        try:
            yield taken
        finally:
            if taken:
                self._free.release()


def _retrying() -> Retrying:
    return Retrying(
        retry=retry_if_exception(is_retryable),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_exponential_jitter(multiplier=0.05, max=1.0),
        reraise=True,
    )


class HubExchange:
    """Answers devices' exchanges against the hub database behind `engine`."""

    def __init__(
        self,
        engine: Engine,
        tables: Mapping[str, Table],
        signing_key: Ed25519PrivateKey,
        *,
        on_applied: AppliedHook | None = None,
        pull_limit: int = PULL_LIMIT,
        now: Callable[[], dt.datetime] | None = None,
        slots: ApplySlots | None = None,
        max_ahead_ms: int = MAX_AHEAD_MS,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.signing_key = signing_key
        self.on_applied = on_applied
        self.pull_limit = pull_limit
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.slots = slots  # None: every batch is applied inline (a hub with no drain)
        self.max_ahead_ms = max_ahead_ms  # how far ahead of the hub's clock a change may be
        self.chains = chain.of(tables)  # what batches leave out for the hub to derive
        self._stored = threading.Event()  # wakes the drain

    def exchange(self, device: Device, request: Request) -> Reply:
        """One exchange; ProtocolError (before anything changes) for a snapshot request
        that names a table no snapshot holds."""
        if request.snapshot is not None:
            snapshot.check(self.tables, request.snapshot.position)
        retrying = _retrying()
        pushed = retrying(self._push, device, request)
        pull = None
        if request.pull and not pushed.waiting and not pushed.rewound:
            retrying(self._refresh, device)
            pull = self._pull(device, request.cursor, request.own)
        chunk = self._snapshot(device, request.snapshot, retrying) if request.snapshot else None
        held, refused = self._held(device)
        hub_time = wall_millis()
        ack = pushed.ack
        receipt = {
            "device": device.id,
            "through": ack.through,
            "digest": ack.digest,
            "at": hub_time,
            "held": held,
            "refused": refused,
            **({"rewound": True} if ack.rewound else {}),
        }
        signature = sign_receipt(self.signing_key, receipt)
        return Reply(
            ack,
            receipt,
            signature,
            hub_time,
            pushed.quarantined,
            pull,
            chunk,
            pushed.reported,
            request.version,
        )

    def _held(self, device: Device) -> tuple[int, int]:
        """How many of the device's changes wait in quarantine (to be applied once their
        cause is gone), and how many were refused for good: the receipt says so, and the
        laptop is "synced" only with none waiting."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT final, count(*) FROM sync_quarantine WHERE resolved_at IS NULL "
                    "AND peer = :p GROUP BY final"
                ),
                {"p": device.id},
            ).all()
        counts = {bool(final): int(number) for final, number in rows}
        return counts.get(False, 0), counts.get(True, 0)

    def retry(self, device_id: str, held_id: str) -> bool:
        """Apply one change the device left in quarantine, now, by the same rules as its
        batches; whether it applied (head office's "retry" of a held change)."""
        with write_intent(), self.engine.begin() as connection:
            vehicle_id = connection.execute(
                text("SELECT vehicle_id FROM device WHERE id = :id"), {"id": device_id}
            ).scalar()
            if vehicle_id is None:
                return False
            clock = clock_for(self.engine)
            applier = Applier(
                connection,
                self.tables,
                DeviceRules(device_id, vehicle_id, max_ahead_ms=self.max_ahead_ms),
                peer=device_id,
                tick=lambda seen: clock.tick_after(connection, seen),
                now=self.now,
            )
            return applier.retry_quarantined(only=held_id) == 1

    # ------------------------------------------------------------ drain

    def drain(self) -> int:
        """Apply stored batches, each device's in arrival order, until none is left that
        another process is not applying already; returns how many were applied. A batch
        that fails to apply stays queued (logged), and the other devices' go on."""
        retrying = _retrying()
        applied = 0
        failed: list[str] = []
        while True:
            with self.engine.connect() as connection:
                devices = inbox.queued_devices(connection, failed)
            progressed = False
            for device_id in devices:
                try:
                    done = retrying(self._drain_one, device_id)
                except Exception as error:  # noqa: BLE001 - one device must not stop the rest
                    log.error(
                        "a stored sync batch of device %s failed to apply (%s); it stays queued",
                        device_id,
                        type(error).__name__,
                    )
                    failed.append(device_id)
                    continue
                applied += done
                progressed = progressed or done
            if not progressed:
                return applied

    def drain_forever(self, poll: float = DRAIN_POLL_SECONDS) -> None:
        """Drain whenever a push stores a batch, and every `poll` seconds for batches a
        killed process left queued; for a daemon thread of a serving process."""
        while True:
            self._stored.clear()
            try:
                self.drain()
            except Exception as error:  # noqa: BLE001 - the database may be back next time
                log.error("draining the sync inbox failed (%s)", type(error).__name__)
            self._stored.wait(poll)

    def _drain_one(self, device_id: str) -> bool:
        """Apply the device's oldest stored batch, unless another drain is applying it."""
        with write_intent(), self.engine.begin() as connection:
            queued = inbox.claim(connection, device_id, self.chains)
            vehicle_id = connection.execute(
                text("SELECT vehicle_id FROM device WHERE id = :id"), {"id": device_id}
            ).scalar()
            if queued is None or vehicle_id is None:
                return False
            quarantined = self._apply(connection, Device(device_id, vehicle_id), queued.batch)
            inbox.applied(connection, queued, quarantined, naive_utc(self.now()))
        return True

    # ------------------------------------------------------------ push

    def _push(self, device: Device, request: Request) -> _Pushed:
        with self._slot() as free, write_intent(), self.engine.begin() as connection:
            link = self._lock_link(connection, device.id)
            batch = request.batch
            pushed = _Pushed(Ack(batch.id if batch else None, 0, ""))
            through, chain = link.pushed_seq, link.digest or digest.GENESIS
            drained = self.slots is not None
            if drained:
                pushed.waiting = inbox.has_queued(connection, device.id)
            else:
                self._apply_queued(connection, device)
            if batch is not None and batch.after == through and request.base in (None, chain):
                # stored when more of the device's batches follow (it asks no pull yet),
                # the drain applying it while the next one travels, and while the hub is
                # behind with any device's, so a fleet's pushes are answered as they come
                if drained and (
                    not free or not request.pull or pushed.waiting or inbox.has_queued(connection)
                ):
                    inbox.store(connection, device.id, batch, self.chains, naive_utc(self.now()))
                    pushed.waiting = True
                else:
                    pushed.quarantined = self._apply(connection, device, batch, request.cursor)
                through = batch.last
                chain = digest.extend(
                    chain, batch.id, batch.after, batch.last, [c.to_wire() for c in batch.changes]
                )
            elif batch is not None and batch.after < through and _known(connection, device, batch):
                pushed.quarantined = self._reported(connection, device.id, batch.id)
            elif batch is not None:
                # not where the hub is: behind it and unknown (the laptop was restored from
                # a backup, section 5d), or past it (the hub was); nothing is applied
                pushed.rewound = batch.after <= through
            held, pushed.reported = inbox.reports(connection, device.id, request.reported)
            pushed.quarantined += held
            self._save_link(connection, device, request, through, chain)
            pushed.ack = Ack(pushed.ack.batch, through, chain, pushed.rewound)
        if pushed.waiting:
            self._stored.set()
        return pushed

    def _slot(self) -> contextlib.AbstractContextManager[bool]:
        return self.slots.take() if self.slots is not None else contextlib.nullcontext(True)

    def _apply_queued(self, connection: Connection, device: Device) -> None:
        """A hub with no drain applies what a serving process left queued for the device
        before its push, so its batches still apply in order (waiting for a drain that is
        applying one of them)."""
        while (queued := inbox.claim(connection, device.id, self.chains, wait=True)) is not None:
            quarantined = self._apply(connection, device, queued.batch)
            inbox.applied(connection, queued, quarantined, naive_utc(self.now()))

    def _refresh(self, device: Device) -> None:
        """Subscribe the vehicle to what its committed changes make it need (this
        exchange's batch included), before its pull is read."""
        with write_intent(), self.engine.begin() as connection:
            link = self._lock_link(connection, device.id)
            who = scope.Subscriber(device.id, device.vehicle_id)
            seen = scope.refresh(connection, self.tables, who, link.scope_seq)
            connection.execute(
                text("UPDATE sync_link SET scope_seq = :s WHERE peer = :p"),
                {"s": seen, "p": device.id},
            )

    def _subscribe_all(self, device: Device) -> int:
        """Before a snapshot's first chunk: subscribe the vehicle, set-based, to what its
        committed changes make it need; returns the commit sequence the snapshot covers."""
        with write_intent(), self.engine.begin() as connection:
            link = self._lock_link(connection, device.id)
            who = scope.Subscriber(device.id, device.vehicle_id)
            through = visible_through(connection)
            snapshot.subscribe_all(connection, self.tables, who, link.scope_seq, through)
            connection.execute(
                text("UPDATE sync_link SET scope_seq = :s WHERE peer = :p"),
                {"s": max(through, link.scope_seq), "p": device.id},
            )
        return through

    def _lock_link(self, connection: Connection, device_id: str) -> Any:
        query = select(_link).where(_link.c.peer == device_id).with_for_update()
        link = connection.execute(query).first()
        if link is None:
            connection.execute(
                text(
                    "INSERT INTO sync_link (peer, pushed_seq, pull_cursor, scope_seq, digest, "
                    "failures) VALUES (:p, 0, 0, 0, '', 0)"
                ),
                {"p": device_id},
            )
            link = connection.execute(query).first()
        return link

    def _apply(
        self, connection: Connection, device: Device, batch: Batch, seen: int | None = None
    ) -> list[tuple[Change, str]]:
        """Apply a device's batch; `seen`: the pull cursor it came with (None: a stored
        batch, whose device's link still holds it)."""
        clock = clock_for(self.engine)
        applier = Applier(
            connection,
            self.tables,
            DeviceRules(device.id, device.vehicle_id, max_ahead_ms=self.max_ahead_ms, seen=seen),
            peer=device.id,
            tick=lambda seen: clock.tick_after(connection, seen),
            now=self.now,
        )
        outcome = applier.apply(batch.changes, batch.id)
        applier.retry_quarantined()
        if self.on_applied is not None:
            self.on_applied(connection, batch.changes)
        report = [[change.to_wire(), reason] for change, reason in outcome.quarantined]
        connection.execute(
            text(
                "INSERT INTO sync_batch (id, peer, direction, first_seq, last_seq, change_count, "
                "applied_at, response) VALUES (:id, :peer, 'in', :first, :last, :n, :at, :r)"
            ),
            {
                "id": f"{device.id}:{batch.id}",
                "peer": device.id,
                "first": batch.after,
                "last": batch.last,
                "n": len(batch.changes),
                "at": naive_utc(self.now()),
                "r": json.dumps(report),
            },
        )
        if outcome.highest:
            # last: every apply raises the one floor row, which stays locked until commit
            clock.raise_floor(connection, outcome.highest, wall_millis() + self.max_ahead_ms)
        return outcome.quarantined

    def _reported(
        self, connection: Connection, device_id: str, batch_id: str
    ) -> list[tuple[Change, str]]:
        """What was quarantined when this batch was applied before (its reply was lost)."""
        stored = connection.execute(
            text("SELECT response FROM sync_batch WHERE id = :id AND peer = :p"),
            {"id": f"{device_id}:{batch_id}", "p": device_id},
        ).scalar()
        if not stored:
            return []
        return [(Change.from_wire(item), reason) for item, reason in json.loads(stored)]

    def _save_link(
        self,
        connection: Connection,
        device: Device,
        request: Request,
        through: int,
        chain: str,
    ) -> None:
        at = naive_utc(self.now())
        connection.execute(
            text(
                "UPDATE sync_link SET pushed_seq = :through, digest = :digest, "
                "pull_cursor = :cursor, clock_offset_ms = :offset, last_attempt_at = :at, "
                "last_success_at = :at, failures = 0 WHERE peer = :p"
            ),
            {
                "through": through,
                "digest": chain,
                "cursor": request.cursor,
                "offset": request.offset_ms,
                "at": at,
                "p": device.id,
            },
        )
        connection.execute(
            text(
                "UPDATE device SET last_seen_at = :at, last_sync_at = :at, "
                "clock_offset_ms = :offset, app_version = COALESCE(:version, app_version) "
                "WHERE id = :id"
            ),
            {
                "at": at,
                "offset": request.offset_ms,
                "version": request.app_version,
                "id": device.id,
            },
        )

    # ------------------------------------------------------------ pull

    def _snapshot(self, device: Device, ask: SnapshotAsk, retrying: Retrying) -> snapshot.Chunk:
        """One chunk of the vehicle's starting snapshot; the first subscribes it."""
        through = retrying(self._subscribe_all, device) if ask.position.table is None else 0
        who = scope.Subscriber(device.id, device.vehicle_id)
        with (
            snapshot.collection_paused(),
            self.engine.connect() as connection,
            connection.begin(),
        ):
            return snapshot.read(connection, self.tables, who, ask.position, ask.limit, through)

    def _pull(self, device: Device, cursor: int, own: bool = False) -> Pull:
        """Changes after `cursor` for the vehicle; `own`: the device's own too (it was
        restored from a backup and re-bases, section 5d)."""
        who = scope.Subscriber("" if own else device.id, device.vehicle_id)
        with self.engine.connect() as connection, connection.begin():
            through = visible_through(connection)
            entries = scope.pull_entries(connection, who, cursor, through, self.pull_limit)
            changes = materialize(connection, self.tables, entries)
        more = len(entries) == self.pull_limit
        last = entries[-1].commit_seq if more and entries[-1].commit_seq else through
        return Pull(changes, last, more)


def _known(connection: Connection, device: Device, batch: Batch) -> bool:
    """Whether the hub has this very batch of the device, applied or stored: a retry of
    it, answered from the record; any other batch over the acknowledged range is not."""
    params = {"id": f"{device.id}:{batch.id}", "b": batch.id, "p": device.id}
    bounds = {"first": batch.after, "last": batch.last}
    applied = connection.execute(
        text(
            "SELECT 1 FROM sync_batch WHERE id = :id AND peer = :p AND first_seq = :first "
            "AND last_seq = :last"
        ),
        {**params, **bounds},
    ).first()
    if applied is not None:
        return True
    stored = connection.execute(
        text(
            "SELECT 1 FROM sync_inbox WHERE peer = :p AND batch_id = :b AND first_seq = :first "
            "AND last_seq = :last"
        ),
        {**params, **bounds},
    ).first()
    return stored is not None
