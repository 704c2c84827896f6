"""The edge's side of sync (protocol, section 5): push the vehicle's own changes in
stored batches, pull what the hub sends, and keep the bookkeeping that makes a dropped
link harmless.

A push batch is stored (`sync_batch`, direction `out`) before it is sent and deleted
only when the hub acknowledges it, so a retry resends the same batch under the same id.
A pulled batch is applied in slices, each committed on its own so the crew's writes
are not held up behind it; the cursor moves with the last slice, and a batch interrupted
between slices is pulled and applied again, a no-op for what it had applied.

A laptop restored from a backup has gone back in time: the hub holds changes of it the
laptop no longer has, numbered where the laptop numbers its new ones. The hub says so
(`Ack.rewound`), or the receipt shows it, and the edge re-bases (section 5d): its unsent
changes are numbered after the hub's position, and its pull brings back its own changes
since the backup. One sync runs at a time on a laptop (a lock file beside the database).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, text

from sync import chain, columnar, digest, snapshot, wire
from sync.apply import Applier, in_order, is_held, quarantine
from sync.change import Change, ProtocolError, materialize, own_entries
from sync.clock import naive_utc, node_of, wall_millis
from sync.protocol import (
    MAX_BATCH_BYTES,
    MAX_BATCH_CHANGES,
    Batch,
    Pull,
    Reply,
    Request,
    SnapshotAsk,
)
from sync.rules import HubRules
from sync.signing import verify_receipt
from sync.stamp import clock_for
from sync.transport import StaleClock, SyncError, Transport
from sync.txn import write_intent

HUB = "hub"
MAX_EXCHANGES = 100_000
# A first guess at a push batch's compressed bytes per log entry, for a laptop that has
# pushed none yet: a day of a clinic's work as columns takes ~16 (150 visits,
# docs/BENCHMARKS.md section 1); a little over, so the first batch fills most of the byte
# cap and is built once, instead of overshooting at the change cap and built again.
FIRST_BYTES_PER_ENTRY = 20
LOAD_ID = "snapshot"  # the sync_batch row that holds an unfinished snapshot's position
# A pulled batch applies in slices, each its own transaction: a crew write waits for one
# slice, not the whole batch. Between slices the sync pauses briefly, so writers of the
# edge's web process that wait for SQLite's lock (polling it) take it first. A slice of
# 100 held the lock for 22 ms (p50; p90 35, and 4-7 more to commit) on a slow 2-core
# machine with a crew at work, longer than a crew write itself (docs/BENCHMARKS.md, 4).
SLICE_CHANGES = 50
SLICE_PAUSE_SECONDS = 0.005

Progress = Callable[[int, int | None], None]


def _pause() -> None:
    """Let writers that wait for SQLite's lock take it before the next slice does."""
    time.sleep(SLICE_PAUSE_SECONDS)


@dataclass(frozen=True)
class Result:
    """What one sync did."""

    pushed: int
    pulled: int
    exchanges: int
    quarantined: int


@dataclass(frozen=True)
class Loaded:
    """What a starting snapshot did: rows applied by this run, chunks, rows in all."""

    rows: int
    chunks: int
    total: int | None


@dataclass(frozen=True)
class _LoadState:
    through: int
    done: int
    total: int | None
    position: snapshot.Position


class EdgeSync:
    """Runs syncs of the edge database behind `engine` with the hub behind `transport`."""

    def __init__(
        self,
        engine: Engine,
        tables: Mapping[str, Table],
        transport: Transport,
        *,
        hub_key: str,
        app_version: str | None = None,
        wall: Callable[[], int] = wall_millis,
        batch_changes: int = MAX_BATCH_CHANGES,
        batch_bytes: int = MAX_BATCH_BYTES,
        slice_changes: int = SLICE_CHANGES,
        between_slices: Callable[[], None] = _pause,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.transport = transport
        self.hub_key = hub_key
        self.app_version = app_version
        self.wall = wall
        self.batch_changes = batch_changes
        self.batch_bytes = batch_bytes
        self.slice_changes = slice_changes
        self.between_slices = between_slices
        self.clock = clock_for(engine)
        self.chains = chain.of(tables)
        self._bytes_per_entry: float | None = None  # in the last batch built: the next guess

    def run(self) -> Result:
        """Sync until everything local is acknowledged and nothing more is to be pulled;
        a failure is recorded on the link and raised as a SyncError. While a push batch
        travels, a worker thread hashes it into our digest and builds the next one
        (~0.4 s for a full batch): over a slow link that work costs no time."""
        self._note("last_attempt_at")
        totals = [0, 0, 0, 0]
        with (
            self._failures_recorded(),
            _one_at_a_time(self.engine),
            ThreadPoolExecutor(1) as worker,
        ):
            ahead: Future[Batch | None] | None = None
            for _ in range(MAX_EXCHANGES):
                done, ahead = self._exchange(totals, worker, ahead)
                totals[2] += 1
                if done:
                    break
        self._succeeded()
        return Result(*totals)

    def load(self, progress: Progress | None = None, limit: int = snapshot.CHUNK_ROWS) -> Loaded:
        """The starting snapshot of a node that has never pulled, chunk by chunk; each
        chunk commits with its position, so an interrupted load resumes where it stopped.
        The next chunk is fetched while one is applied (hub and edge work at once).
        Does nothing once the node has pulled; `run()` afterwards pulls the log since."""
        rows = chunks = 0
        total: int | None = None
        with (
            self._failures_recorded(),
            _one_at_a_time(self.engine),
            ThreadPoolExecutor(1) as fetcher,
            snapshot.collection_paused(),
        ):
            state = self._load_state()
            coming = fetcher.submit(self._chunk, state.position, limit) if state else None
            while state is not None and coming is not None:
                chunk = coming.result()
                coming = fetcher.submit(self._chunk, chunk.next, limit) if chunk.next else None
                with write_intent(), self.engine.begin() as connection:
                    rows += self._apply_chunk(connection, state, chunk)
                chunks += 1
                total = state.total if chunk.total is None else chunk.total
                if progress is not None:
                    progress(state.done + chunk.rows, total)
                state = self._load_state() if coming else None
        return Loaded(rows, chunks, total)

    @contextlib.contextmanager
    def _failures_recorded(self) -> Iterator[None]:
        """Record a failed sync on the link, then raise it as a SyncError."""
        try:
            yield
        except (SyncError, ProtocolError) as error:
            self._failed(str(error))
            if isinstance(error, ProtocolError):
                raise SyncError(f"the hub's reply was malformed: {error}") from None
            raise

    def _load_state(self) -> _LoadState | None:
        """Where the snapshot stands: None when there is none to take (already pulled)."""
        with write_intent(), self.engine.begin() as connection:
            link = _link(connection)
            row = connection.execute(
                text(
                    "SELECT first_seq, last_seq, change_count, response FROM sync_batch "
                    "WHERE id = :id AND peer = :p AND direction = 'load'"
                ),
                {"id": LOAD_ID, "p": HUB},
            ).first()
        if row is not None:
            position = snapshot.Position.from_wire(json.loads(row.response))
            total = row.change_count if row.change_count >= 0 else None
            return _LoadState(row.first_seq, row.last_seq, total, position)
        if link.pull_cursor:
            return None
        return _LoadState(0, 0, None, snapshot.Position())

    def _chunk(self, position: snapshot.Position, limit: int) -> snapshot.Chunk:
        with self.engine.connect() as connection:
            node = self.clock.node(connection)
            link = _link(connection)
        ask = SnapshotAsk(position, limit)
        request = Request(
            None, link.pull_cursor, False, self.wall(), link.clock_offset_ms, self.app_version, ask
        )
        reply, _ = self._send(wire.pack(request.to_wire(self.chains)), link.clock_offset_ms or 0)
        self._check_receipt(reply, node)
        if reply.snapshot is None:
            raise SyncError("the hub sent no snapshot: is it older than this laptop's software?")
        return reply.snapshot

    def _apply_chunk(self, connection: Connection, state: _LoadState, chunk: snapshot.Chunk) -> int:
        """Apply a chunk and move the saved position in the same transaction; the last
        chunk sets the pull cursor to the commit sequence the snapshot covers."""
        node = self.clock.node(connection)
        link = _link(connection)
        outcome = snapshot.apply(connection, self.tables, chunk, self._applier(connection, node))
        if outcome.highest:
            self.clock.raise_floor(connection, outcome.highest)
        first = state.position.table is None and not state.done
        through = chunk.through if first else state.through
        total = chunk.total if first else state.total
        connection.execute(
            text("DELETE FROM sync_batch WHERE id = :id AND peer = :p AND direction = 'load'"),
            {"id": LOAD_ID, "p": HUB},
        )
        if chunk.next is None:
            connection.execute(
                text("UPDATE sync_link SET pull_cursor = :c WHERE peer = :p"),
                {"c": max(link.pull_cursor, through), "p": HUB},
            )
            return outcome.applied
        connection.execute(
            text(
                "INSERT INTO sync_batch (id, peer, direction, first_seq, last_seq, change_count, "
                "applied_at, response) VALUES (:id, :p, 'load', :through, :done, :total, :at, :r)"
            ),
            {
                "id": LOAD_ID,
                "p": HUB,
                "through": through,
                "done": state.done + chunk.rows,
                "total": -1 if total is None else total,
                "at": naive_utc(dt.datetime.now(dt.UTC)),
                "r": json.dumps(chunk.next.to_wire()),
            },
        )
        return outcome.applied

    # ------------------------------------------------------------ one exchange

    def _exchange(
        self, totals: list[int], worker: ThreadPoolExecutor, ahead: Future[Batch | None] | None
    ) -> tuple[bool, Future[Batch | None] | None]:
        """One request and its reply; done, and the next batch being built if any."""
        node, link, batch, pull = self._outgoing(ahead)
        request = Request(
            batch,
            link.pull_cursor,
            pull,
            self.wall(),
            link.clock_offset_ms,
            self.app_version,
            reported=link.reported,
            base=(link.digest or digest.GENESIS) if batch else None,
            own=bool(link.rebasing),
        )
        body = wire.pack(request.to_wire(self.chains))
        chaining = worker.submit(_chained, link.digest, batch) if batch else None
        ahead = worker.submit(self._batch_after, node, batch) if batch and not pull else None
        reply, offset = self._send(body, link.clock_offset_ms or 0)
        self._check_receipt(reply, node)
        chained = {link.digest: chaining.result()} if chaining else {}
        slices = self._slices(reply.pull)
        with write_intent(), self.engine.begin() as connection:
            acked, rebased = self._take_ack(connection, batch, reply, chained)
            if rebased:  # its pull left out our own changes: the cursor stays for ours
                slices = []
            totals[0] += len(batch.changes) if batch and acked else 0
            totals[3] += self._take_quarantined(connection, node, reply.quarantined)
            connection.execute(
                text(
                    "UPDATE sync_link SET clock_offset_ms = :o, "
                    "reported = max(reported, :r) WHERE peer = :p"
                ),
                {"o": offset, "r": reply.reported or 0, "p": HUB},
            )
            if slices:
                totals[1] += self._apply_slice(connection, node, *slices[0], reply.hub_time)
        for changes, cursor in slices[1:]:
            self.between_slices()
            with write_intent(), self.engine.begin() as connection:
                totals[1] += self._apply_slice(connection, node, changes, cursor, reply.hub_time)
        more_pull = reply.pull is not None and reply.pull.more
        if link.rebasing and reply.pull is not None and not more_pull:
            self._rebased(reply.pull.cursor)
        done = pull and (batch is None or acked) and not more_pull and not rebased
        return done, ahead

    def _send(self, body: bytes, offset: int) -> tuple[Reply, int]:
        """One round trip; a refused timestamp corrects the offset and retries once."""
        for attempt in range(2):
            sent = self.wall()
            try:
                raw = self.transport.exchange(body, sent - offset)
            except StaleClock as error:
                if attempt:
                    raise
                offset = self.wall() - error.hub_time
                continue
            received = self.wall()
            reply = Reply.from_wire(wire.unpack(raw), self.chains)
            return reply, (sent + received) // 2 - reply.hub_time
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_receipt(self, reply: Reply, node: str) -> None:
        receipt = reply.receipt
        fields_agree = (
            receipt.get("device") == node
            and receipt.get("through") == reply.ack.through
            and receipt.get("digest") == reply.ack.digest
        )
        if not fields_agree or not verify_receipt(self.hub_key, receipt, reply.signature):
            raise SyncError("the hub's receipt does not verify: is this the enrolled hub?")

    # ------------------------------------------------------------ push side

    def _outgoing(self, ahead: Future[Batch | None] | None) -> tuple[str, Any, Batch | None, bool]:
        """The node, its link, the batch to push (the stored one, a retry, the one built
        `ahead`, or a new one), and whether to pull: only when the batch leaves nothing of
        ours unsent. A new batch is built in a read transaction and stored in a short
        write one, so the crew's writes do not wait while the log is read. The read sees a
        snapshot (WAL) in which, SQLite having one writer, own changes are numbered in
        commit order: a prefix of the log, ending at a committed change."""
        built = ahead.result() if ahead is not None else None
        with write_intent(False), self.engine.connect() as connection, connection.begin():
            node = self.clock.node(connection)
            link = _link(connection)
            stored = self._stored_batch(connection)
            if stored is None and built is not None and built.after == link.pushed_seq:
                batch: Batch | None = built
            else:
                batch = stored or self._new_batch(
                    connection, node, link.pushed_seq, link.bytes_per_entry
                )
            pull = _all_sent(connection, node, link, batch)
        if stored is not None or batch is None:
            return node, link, batch, pull
        with write_intent(), self.engine.begin() as connection:
            link = _link(connection)
            stored = self._stored_batch(connection)
            if stored is not None:  # another sync stored one meanwhile: that one goes
                return node, link, stored, _all_sent(connection, node, link, stored)
            if link.pushed_seq != batch.after:  # and had it acknowledged: build anew
                batch = self._new_batch(connection, node, link.pushed_seq, link.bytes_per_entry)
                pull = _all_sent(connection, node, link, batch)
            if batch is not None:
                self._store(connection, batch)
        return node, link, batch, pull

    def _stored_batch(self, connection: Connection) -> Batch | None:
        row = connection.execute(
            text(
                "SELECT response FROM sync_batch WHERE peer = :p AND direction = 'out' "
                "ORDER BY first_seq LIMIT 1"
            ),
            {"p": HUB},
        ).first()
        return Batch.from_wire(json.loads(row.response), self.chains) if row else None

    def _batch_after(self, node: str, batch: Batch) -> Batch | None:
        """The batch to follow `batch`, built ahead in a read transaction of its own; it
        goes only if the hub acknowledges `batch` (`_outgoing`)."""
        with write_intent(False), self.engine.connect() as connection, connection.begin():
            return self._new_batch(connection, node, batch.last, None)

    def _new_batch(
        self, connection: Connection, node: str, after: int, per_entry: float | None
    ) -> Batch | None:
        """The next batch of our own changes after log entry `after`, as many as fit the
        byte cap. The first try is sized by the last batch's bytes per log entry (kept on
        the link as `per_entry`, for the next sync's client), so a day of work builds each
        batch about once instead of first overshooting with the change cap."""
        known = self._bytes_per_entry or per_entry or FIRST_BYTES_PER_ENTRY
        limit = max(1, min(self.batch_changes, int(self.batch_bytes * 0.95 / known)))
        while True:
            entries = own_entries(connection, node, after, limit)
            if not entries:
                return None
            changes = materialize(connection, self.tables, entries)
            batch = Batch(uuid.uuid4().hex, after, entries[-1].seq, changes)
            size = len(wire.pack(batch.to_wire(self.chains)))
            self._bytes_per_entry = size / len(entries)
            if limit == 1 or size <= self.batch_bytes:
                break
            # Shrink in proportion to the overshoot, a little under, so the batch fills
            # the byte cap instead of halving to a quarter of it.
            fitting = len(entries) * self.batch_bytes * 19 // (size * 20)
            limit = max(1, min(len(entries) - 1, fitting))
        return batch

    def _store(self, connection: Connection, batch: Batch) -> None:
        """Keep the batch until the hub acknowledges it, so a retry resends it as it was."""
        connection.execute(
            text(
                "INSERT INTO sync_batch (id, peer, direction, first_seq, last_seq, change_count, "
                "applied_at, response) VALUES (:id, :p, 'out', :first, :last, :n, :at, :r)"
            ),
            {
                "id": batch.id,
                "p": HUB,
                "first": batch.after,
                "last": batch.last,
                "n": len(batch.changes),
                "at": naive_utc(dt.datetime.now(dt.UTC)),
                "r": json.dumps(batch.to_wire(self.chains)),
            },
        )
        connection.execute(  # the next sync's first batch is sized from it
            text("UPDATE sync_link SET bytes_per_entry = :b WHERE peer = :p"),
            {"b": self._bytes_per_entry, "p": HUB},
        )

    def _take_ack(
        self, connection: Connection, batch: Batch | None, reply: Reply, chained: dict[str, str]
    ) -> tuple[bool, bool]:
        """Move the pushed mark to what the hub holds; whether `batch` is covered, and
        whether this laptop re-based instead.
        `chained`: our digest after `batch`, by the digest it extends. The receipt proves
        delivery only where the hub's digest is our own: a hub that holds more of ours
        than we know, or other history at our mark, means this laptop went back in time
        (restored from a backup), and it re-bases (section 5d, invariant 20)."""
        ack = reply.ack
        link = _link(connection)
        acked = batch is not None and batch.after == link.pushed_seq and ack.through == batch.last
        if acked and batch is not None:
            ours = chained.get(link.digest) or _chained(link.digest, batch)
        else:
            ours = link.digest or digest.GENESIS
        ahead_of_us = ack.through > link.pushed_seq and not acked
        level = acked or ack.through == link.pushed_seq
        if ack.rewound or ahead_of_us or (level and ack.digest != ours):
            self._rebase(connection, link, ack)
            return False, True
        chain = ours if acked else ack.digest  # behind us: the hub was restored, resend
        if batch is not None:
            # covered, or the hub holds less than we thought (restored): rebuild from its mark
            connection.execute(
                text("DELETE FROM sync_batch WHERE peer = :p AND direction = 'out'"), {"p": HUB}
            )
        connection.execute(
            text("UPDATE sync_link SET pushed_seq = :s, digest = :d, receipt = :r WHERE peer = :p"),
            {
                "s": ack.through,
                "d": chain,
                "r": json.dumps({"receipt": reply.receipt, "signature": reply.signature}),
                "p": HUB,
            },
        )
        return acked, False

    def _rebase(self, connection: Connection, link: Any, ack: Any) -> None:
        """This laptop went back in time (restored from a backup): the hub holds its
        changes through `ack.through`, some of which it no longer has, and may have
        counted other history at our mark. Number our unsent changes after the hub's
        position (a new batch then continues the hub's digest), and pull our own changes
        back from our pull cursor until caught up (`_rebased`): nothing acknowledged before
        the restore goes missing, nothing made since is lost (section 5d)."""
        shift = max(0, ack.through - link.pushed_seq)
        unsent = connection.execute(
            text("SELECT count(*) FROM sync_change WHERE node = :n AND seq > :s"),
            {"n": self.clock.node(connection), "s": link.pushed_seq},
        ).scalar()
        if shift:  # two steps: the key must stay unique as rows move up
            params = {"s": link.pushed_seq, "by": shift}
            connection.execute(text("UPDATE sync_change SET seq = -seq WHERE seq > :s"), params)
            connection.execute(text("UPDATE sync_change SET seq = :by - seq WHERE seq < 0"), params)
        connection.execute(
            text("DELETE FROM sync_batch WHERE peer = :p AND direction = 'out'"), {"p": HUB}
        )
        note = (
            f"this laptop was behind head office (restored from a backup?): head office held "
            f"{ack.through} of its changes, it knew of {link.pushed_seq}; {unsent} unsent "
            "change(s) renumbered to follow, and its own changes since are being brought back"
        )
        connection.execute(
            text(
                "UPDATE sync_link SET pushed_seq = :s, digest = :d, rebasing = :yes, "
                "rebased_at = :at, rebase_note = :note WHERE peer = :p"
            ),
            {
                "s": ack.through,
                "d": ack.digest,
                "yes": True,
                "at": naive_utc(dt.datetime.now(dt.UTC)),
                "note": note,
                "p": HUB,
            },
        )

    def _rebased(self, cursor: int) -> None:
        """The re-base's pull has caught up: our own changes the hub held are back."""
        with write_intent(), self.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE sync_link SET rebasing = :no, rebase_note = rebase_note || :done "
                    "WHERE peer = :p"
                ),
                {"no": False, "done": f"; caught up at {cursor}", "p": HUB},
            )

    def _take_quarantined(
        self, connection: Connection, node: str, held: list[tuple[Change, str]]
    ) -> int:
        """The hub's refusals of our changes, kept here so the crew can see them; one
        reported again (its reply was lost, or a stored batch's report came twice) is
        held once."""
        now = dt.datetime.now(dt.UTC)
        fresh = [
            (change, reason) for change, reason in held if not is_held(connection, node, change)
        ]
        for change, reason in fresh:
            quarantine(connection, node, change, f"refused by the hub: {reason}", None, now)
        return len(fresh)

    # ------------------------------------------------------------ pull side

    def _applier(self, connection: Connection, node: str, hub_time: int | None = None) -> Applier:
        return Applier(
            connection,
            self.tables,
            HubRules(node, _link(connection).pushed_seq, hub_time),
            peer=HUB,
            tick=lambda seen: self.clock.tick_after(connection, seen),
            now=lambda: dt.datetime.now(dt.UTC),
        )

    def _slices(self, pull: Pull | None) -> list[tuple[list[Change], int | None]]:
        """The pulled changes in the order they apply, cut into slices of at most
        `slice_changes`, each with the pull cursor to store after it: only the last has
        one. One slice, perhaps empty, for a small pull; none without a pull."""
        if pull is None:
            return []
        ordered = in_order(self.tables, pull.changes)
        size = self.slice_changes
        starts = range(0, max(len(ordered), 1), size)
        return [
            (ordered[at : at + size], pull.cursor if at == starts[-1] else None) for at in starts
        ]

    def _apply_slice(
        self,
        connection: Connection,
        node: str,
        changes: list[Change],
        cursor: int | None,
        hub_time: int | None = None,
    ) -> int:
        """Apply one slice; with the last (the one given the cursor), retry the quarantine
        and move the pull cursor.
        Each slice commits on its own, so crew writes get the lock between slices; after a
        crash the cursor has not moved and the whole pull comes again, where what is
        applied already is unchanged (its versions are no newer) and what is quarantined
        already is not held twice."""
        applier = self._applier(connection, node, hub_time)
        before = _last_seq(connection)
        outcome = applier.apply(changes)
        if any(node_of(change.version) == node for change in changes):
            _forget_own(connection, node, before)
        if outcome.highest:
            self.clock.raise_floor(connection, outcome.highest)
        if cursor is not None:
            applier.retry_quarantined()
            connection.execute(
                text("UPDATE sync_link SET pull_cursor = :c WHERE peer = :p"),
                {"c": cursor, "p": HUB},
            )
        return outcome.applied

    # ------------------------------------------------------------ link state

    def _note(self, column: str) -> None:
        with write_intent(), self.engine.begin() as connection:
            _link(connection)
            connection.execute(
                text(f"UPDATE sync_link SET {column} = :at WHERE peer = :p"),  # noqa: S608  # nosec B608 - fixed name
                {"at": naive_utc(dt.datetime.now(dt.UTC)), "p": HUB},
            )

    def _failed(self, message: str) -> None:
        with write_intent(), self.engine.begin() as connection:
            _link(connection)
            connection.execute(
                text(
                    "UPDATE sync_link SET last_error = :e, last_error_at = :at, "
                    "failures = failures + 1 WHERE peer = :p"
                ),
                {"e": message[:2000], "at": naive_utc(dt.datetime.now(dt.UTC)), "p": HUB},
            )

    def _succeeded(self) -> None:
        with write_intent(), self.engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE sync_link SET last_success_at = :at, last_error = NULL, "
                    "failures = 0 WHERE peer = :p"
                ),
                {"at": naive_utc(dt.datetime.now(dt.UTC)), "p": HUB},
            )


def _link(connection: Connection) -> Any:
    """The edge's link with the hub, made on first use."""
    query = text(
        "SELECT pushed_seq, pull_cursor, digest, clock_offset_ms, reported, bytes_per_entry, "
        "rebasing FROM sync_link WHERE peer = :p"
    )
    link = connection.execute(query, {"p": HUB}).first()
    if link is None:
        connection.execute(
            text(
                "INSERT INTO sync_link (peer, pushed_seq, pull_cursor, scope_seq, digest, "
                "failures) VALUES (:p, 0, 0, 0, '', 0)"
            ),
            {"p": HUB},
        )
        link = connection.execute(query, {"p": HUB}).first()
    return link


def _last_seq(connection: Connection) -> int:
    return int(connection.execute(text("SELECT max(seq) FROM sync_change")).scalar() or 0)


def _forget_own(connection: Connection, node: str, after: int) -> None:
    """Our own changes the hub sent back (a re-base, section 5d) are logged under our node
    as they apply; the hub has them, so they are not ours to push again. In the slice's
    write transaction, so only its own log entries are forgotten."""
    connection.execute(
        text("DELETE FROM sync_change WHERE node = :n AND seq > :s"), {"n": node, "s": after}
    )


@contextlib.contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    """One sync at a time per laptop (the scheduler, `clinic-edge sync` and the crew's
    "sync now" may start together): a lock file beside the database, held by the
    process for the sync and released by the kernel if it dies."""
    path = engine.url.database
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.sync-lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _chained(previous: str, batch: Batch) -> str:
    """Our running digest extended by `batch`, its changes in the order the hub reads them
    from the batch's columns (a batch stored as rows by an older version included)."""
    changes = [c.to_wire() for c in columnar.grouped(batch.changes)]
    return digest.extend(previous or digest.GENESIS, batch.id, batch.after, batch.last, changes)


def _all_sent(connection: Connection, node: str, link: Any, batch: Batch | None) -> bool:
    """Whether none of our own changes comes after `batch` (or the pushed mark)."""
    after = batch.last if batch else link.pushed_seq
    return (
        connection.execute(
            text("SELECT 1 FROM sync_change WHERE node = :n AND seq > :s LIMIT 1"),
            {"n": node, "s": after},
        ).first()
        is None
    )
