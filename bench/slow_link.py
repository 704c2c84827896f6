"""How long a day of a clinic's work takes to sync over a rural 3G link (384 kbit/s each
way, 300 ms round trip), beside the physical floor of that link for the same bytes and
round trips, and how much is sent again after the link drops a connection.

Run `python -m bench.slow_link` (150 visits, 3 clean runs and 1 run with a dropped
connection; `--visits`, `--runs`, `--kbits`, `--rtt-ms` to change). Each run is a new hub
(MySQL database made on HUB_BENCH_DATABASE_URL's server and dropped afterwards, served by
a `clinic-hub serve` process on loopback, as head office runs it) and a new SQLCipher edge
whose day is written and then pushed through the shaping proxy in `bench/shaper.py`.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench import machine, seal_with_bench_key
from bench.day import (
    DEFAULT_SERVER,
    ENV,
    Recorder,
    enrolled,
    formulary,
    hang_up,
    hub_database,
    hub_processes,
    new_edge,
    pending,
    stock_a_vehicle,
    work_a_day,
)
from bench.shaper import shaping
from common.database import plain_engine
from sync.transport import SyncError


@dataclass(frozen=True)
class Link:
    rate: float  # bytes/s each way
    rtt: float  # seconds


@dataclass(frozen=True)
class Run:
    changes: int
    seconds: float
    up: int
    down: int
    exchanges: int
    connections: int
    dropped: int  # connections the link dropped
    attempts: int  # syncs started (a failed one is started again at once)
    resent: int  # exchanges that carried a batch already sent
    hub_visits: int

    def floor(self, link: Link) -> float:
        """The link's floor for this traffic: every byte at the link's rate, and a round
        trip per exchange and per TCP handshake."""
        return (self.up + self.down) / link.rate + (self.exchanges + self.connections) * link.rtt


def one_run(server_url: str, visits: int, seed: int, link: Link, drop_at: int | None) -> Run:
    """A new hub and edge; the day written on the edge, then synced over the slow link,
    which drops one connection `drop_at` bytes into the upload when asked."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        hub_database(server_url) as url,
        hub_processes(url, Path(tmp), 1) as [server],
    ):
        hub = plain_engine(url)
        edge = new_edge(Path(tmp) / "edge.db", secrets.token_bytes(32))
        try:
            vehicle_id, stock = stock_a_vehicle(hub, formulary(hub))
            with shaping(server.base, link.rate, link.rtt, []) as lane:
                client = enrolled(edge, hub, vehicle_id, lane.url, Path(tmp) / "secrets")
                work_a_day(edge, vehicle_id, stock, visits, random.Random(seed))
                changes = pending(edge)
                recorder = Recorder(client)
                up, down, connections = lane.up.bytes, lane.down.bytes, lane.connections
                if drop_at is not None:
                    lane.drops.append(up + drop_at)
                attempts = 0
                started = time.perf_counter()
                while True:
                    attempts += 1
                    try:
                        client.run()
                        break
                    except SyncError:
                        if attempts > 5:
                            raise
                seconds = time.perf_counter() - started
                hang_up(client)
                run = Run(
                    changes,
                    seconds,
                    lane.up.bytes - up,
                    lane.down.bytes - down,
                    len(recorder.seconds),
                    lane.connections - connections,
                    lane.dropped,
                    attempts,
                    recorder.resent,
                    0,
                )
            with hub.connect() as connection:
                hub_visits = int(
                    connection.execute(text("SELECT count(*) FROM visit")).scalar() or 0
                )
            return Run(**{**run.__dict__, "hub_visits": hub_visits})
        finally:
            edge.dispose()
            hub.dispose()


def measure(
    visits: int,
    server_url: str,
    runs: int = 3,
    link: Link = Link(48_000, 0.3),
    seed: int = 20261201,
) -> tuple[list[Run], Run]:
    """`runs` clean runs, then one whose link drops a connection halfway through the
    upload of the clean runs' median."""
    clean = [one_run(server_url, visits, seed, link, None) for _ in range(runs)]
    halfway = int(statistics.median(run.up for run in clean) // 2)
    return clean, one_run(server_url, visits, seed, link, halfway)


def table(visits: int, link: Link, clean: list[Run], dropped: Run) -> str:
    median = statistics.median(run.seconds for run in clean)
    floor = statistics.median(run.floor(link) for run in clean)

    def line(name: str, run: Run) -> str:
        return (
            f"{name:<34} {run.seconds:>8.2f} {run.floor(link):>8.2f} "
            f"{run.seconds / run.floor(link):>6.2f}x {run.up:>9,} {run.down:>8,} "
            f"{run.exchanges:>5} {run.connections:>5} {run.dropped:>5} {run.resent:>6} "
            f"{run.hub_visits:>6}"
        )

    rows = [
        f"Slow link: {visits} visits ({clean[0].changes:,} changes) over "
        f"{link.rate * 8 / 1000:,.0f} kbit/s each way, {link.rtt * 1000:,.0f} ms RTT",
        f"{'run':<34} {'seconds':>8} {'floor s':>8} {'ratio':>7} {'bytes up':>9} "
        f"{'down':>8} {'exch':>5} {'conns':>5} {'drops':>5} {'resent':>6} {'visits':>6}",
        *(line(f"clean run {n + 1}", run) for n, run in enumerate(clean)),
        f"{'median of the clean runs':<34} {median:>8.2f} {floor:>8.2f} {median / floor:>6.2f}x",
        line("one dropped connection", dropped),
        f"after the drop: {dropped.resent} batch(es) sent again, {dropped.attempts} sync "
        f"attempts, {dropped.seconds / median:.2f}x the clean median time",
    ]
    return "\n".join(rows)


def main() -> None:
    seal_with_bench_key()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=150)
    parser.add_argument("--runs", type=int, default=3, help="clean runs (the median is of them)")
    parser.add_argument("--kbits", type=float, default=384, help="link rate each way, kbit/s")
    parser.add_argument("--rtt-ms", type=float, default=300)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    link = Link(args.kbits * 1000 / 8, args.rtt_ms / 1000)
    server = os.environ.get(ENV, DEFAULT_SERVER)
    with machine.noted():
        clean, dropped = measure(args.visits, server, args.runs, link, args.seed)
        print(table(args.visits, link, clean, dropped))


if __name__ == "__main__":
    main()
