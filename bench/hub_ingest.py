"""How fast the hub takes in a fleet's day: N vehicles each pushing a day of work at once
into `clinic-hub serve` (waitress) on MySQL; changes applied per second, push latency,
errors, an exactly-once check at the hub, beside the floor of the same rows inserted into
an empty copy of the schema with plain `executemany`.

Run `python -m bench.hub_ingest` (20 vehicles of 30 visits on 2 hub processes of 4
threads; `--vehicles 50 --visits 150` is the issue's target size but takes long to
generate). `--slots N` sets each process's inline apply slots (HUB_SYNC_APPLY_SLOTS; the
product's default is 1): a push that finds none free, or the hub behind with stored
batches, is stored, acknowledged at once and applied by the process's drain, so the
clock stops when the last stored batch is applied, and each vehicle's "day at head
office" is when its last batch was applied; `--slots 0` stores every push. A vehicle
whose last push was stored gets no pull in that sync (it pulls on its next): the table
counts the vehicles that got theirs.

Push latency is printed as the simulated laptops saw it and as a proxy at the hub's door
saw it (request in to reply out, in the benchmark's own process at normal priority): the
laptops share the hub's two cores at the lowest priority, so theirs includes the wait
to be scheduled to read the reply, which a laptop of its own does not have.

Each vehicle is its own SQLCipher edge, enrolled with the hub and with its day written
through the ORM before the clock starts; the pushes then run in one thread per vehicle,
the vehicles spread over `--pushers` worker processes at the lowest CPU priority. On a
fleet each laptop builds and packs its batches on its own CPU (about 0.3 ms of Python per
change); here fifty simulated laptops share the hub's two cores, so they take only what
the hub and MySQL leave, instead of one process's lock holding them to a core and their
work taking the hub's CPU. MySQL at HUB_BENCH_DATABASE_URL's server; the hub's and the
floor's private databases are dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import queue
import random
import secrets
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

import schema
from bench import machine, seal_with_bench_key
from bench.day import (
    DAY_TABLES,
    DEFAULT_SERVER,
    ENV,
    Recorder,
    enrolled,
    formulary,
    hang_up,
    hub_database,
    hub_processes,
    ids,
    new_edge,
    pending,
    stock_a_vehicle,
    work_a_day,
)
from bench.meter import metering
from common.database import plain_engine, sqlcipher_engine
from edge.sync import service as edge_sync
from sync.edge import HUB, EdgeSync
from sync.transport import SyncError


@dataclass(frozen=True)
class Laptop:
    """Where a pusher process finds a vehicle's edge and its sync secrets."""

    node: str
    path: str
    key: bytes
    secrets: str


@dataclass
class Vehicle:
    laptop: Laptop
    changes: int  # waiting to be pushed
    rows: dict[str, set[str]]  # the day's row ids by table
    latencies: list[float] = field(default_factory=list)  # seconds, one per exchange
    hub_latencies: list[float] = field(default_factory=list)  # of those, the hub's own
    errors: int = 0
    pulled: bool = False  # the sync ended with its pull (the hub had caught up)

    @property
    def node(self) -> str:
        return self.laptop.node


@dataclass(frozen=True)
class Figures:
    vehicles: int
    visits: int
    changes: int
    rows: int
    seconds: float  # until every change was applied at the hub
    synced_seconds: float  # until every vehicle's sync had finished
    at_head_office: list[float]  # seconds until each vehicle's last batch was applied
    latencies: list[float]  # seconds, one per push exchange
    hub_latencies: list[float]  # the hub's own time to answer each (Server-Timing)
    door_latencies: list[float]  # each at the hub's door (a proxy in front of it)
    errors: int
    pulled: int  # vehicles whose sync ended with its pull
    missing_rows: int  # the day's rows the hub does not have
    extra_rows: int  # rows the day tables gained at the hub beyond the day's
    applied_twice: int  # changes the hub's change log holds twice
    floor_seconds: float
    processes: int
    threads: int
    slots: int
    pushers: int


def fleet(
    hub: Engine, bases: list[str], tmp: Path, count: int, visits: int, seed: int
) -> list[Vehicle]:
    """`count` edges enrolled with the hub (spread over its processes), each with its day
    of `visits` written and not yet pushed."""
    medicines = formulary(hub)
    rng = random.Random(seed)
    made = []
    for number in range(count):
        vehicle_id, stock = stock_a_vehicle(hub, medicines, number)
        node = f"dbench{number:07d}"
        folder = tmp / node
        folder.mkdir()
        laptop = Laptop(node, str(folder / "edge.db"), secrets.token_bytes(32), str(folder / "s"))
        edge = new_edge(Path(laptop.path), laptop.key, node)
        try:
            base = bases[number % len(bases)]
            hang_up(enrolled(edge, hub, vehicle_id, base, Path(laptop.secrets)))
            before = ids(edge)
            work_a_day(edge, vehicle_id, stock, visits, rng)
            after = ids(edge)
            rows = {name: after[name] - before[name] for name in DAY_TABLES}
            made.append(Vehicle(laptop, pending(edge, node), rows))
        finally:
            edge.dispose()
    return made


def push_all(vehicles: list[Vehicle], pushers: int) -> tuple[float, dt.datetime]:
    """Every vehicle's sync at once, one thread each in `pushers` processes; the wall time
    until the last is done, and when they started. Each vehicle's exchange latencies and
    failed syncs are filled in."""
    context = multiprocessing.get_context("spawn")  # no forked copies of open connections
    share = [vehicles[worker::pushers] for worker in range(pushers)]
    share = [part for part in share if part]
    start = context.Barrier(len(share) + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_pusher, args=([v.laptop for v in part], start, results))
        for part in share
    ]
    for worker in workers:
        worker.start()
    try:
        start.wait(timeout=120)
        started, at = time.perf_counter(), dt.datetime.now(dt.UTC)
        by_node = {vehicle.node: vehicle for vehicle in vehicles}
        for _ in workers:
            for node, latencies, hub_latencies, errors, pulled in _next_report(results, workers):
                vehicle = by_node[node]
                vehicle.latencies, vehicle.hub_latencies = latencies, hub_latencies
                vehicle.errors, vehicle.pulled = errors, pulled
        synced = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.join(60)
    return synced, at


def _next_report(results: Any, workers: list[Any]) -> Any:
    """The next pusher's report; a pusher that died without one fails the run."""
    while True:
        try:
            return results.get(timeout=5)
        except queue.Empty:
            if any(worker.exitcode not in (None, 0) for worker in workers):
                raise RuntimeError("a pusher process failed; its traceback is above") from None


def _pusher(laptops: list[Laptop], start: Any, results: Any) -> None:
    """One pusher process: its vehicles' syncs in a thread each, at the lowest priority,
    once every process is ready. A sync that fails is counted and started again (up to 5
    times). Reports (node, exchange latencies, the hub's part of them, failed syncs,
    whether it pulled) per vehicle."""
    os.nice(19)
    clients = []
    for laptop in laptops:
        engine = sqlcipher_engine(laptop.path, laptop.key)
        client = edge_sync.client(engine, {"SECRETS_DIR": laptop.secrets})
        clients.append((laptop, engine, client, Recorder(client)))
    errors = dict.fromkeys((laptop.node for laptop in laptops), 0)
    cursors = {laptop.node: pull_cursor(engine) for laptop, engine, _, _ in clients}
    go = threading.Event()

    def push(node: str, client: EdgeSync) -> None:
        go.wait()
        for _ in range(5):
            try:
                client.run()
                return
            except SyncError:
                errors[node] += 1

    threads = [  # daemons: a pusher whose start fails must exit, not wait for `go` forever
        threading.Thread(target=push, args=(laptop.node, client), daemon=True)
        for laptop, _, client, _ in clients
    ]
    for thread in threads:
        thread.start()
    start.wait(timeout=120)
    go.set()
    for thread in threads:
        thread.join()
    results.put(
        [
            (
                laptop.node,
                rec.seconds,
                rec.hub_seconds,
                errors[laptop.node],
                pull_cursor(engine) > cursors[laptop.node],
            )
            for laptop, engine, _, rec in clients
        ]
    )
    for _, engine, client, _ in clients:
        hang_up(client)
        engine.dispose()


def pull_cursor(edge: Engine) -> int:
    """How far the edge has pulled: a pull moves it to the hub's latest commit."""
    with edge.connect() as connection:
        query = text("SELECT pull_cursor FROM sync_link WHERE peer = :p")
        return int(connection.execute(query, {"p": HUB}).scalar() or 0)


def drained(hub: Engine, started: dt.datetime) -> float:
    """Wait until the hub has applied every batch it stored; the seconds since `started`."""
    query = text("SELECT count(*) FROM sync_inbox WHERE applied_at IS NULL")
    while True:
        with hub.connect() as connection:
            if not connection.execute(query).scalar():
                return (dt.datetime.now(dt.UTC) - started).total_seconds()
        time.sleep(0.05)


def at_head_office(hub: Engine, vehicles: list[Vehicle], started: dt.datetime) -> list[float]:
    """Seconds from `started` until each vehicle's last batch was applied at the hub."""
    with hub.connect() as connection:
        last = dict(
            connection.execute(
                text("SELECT peer, max(applied_at) FROM sync_batch GROUP BY peer")
            ).all()
        )
    naive = started.replace(tzinfo=None)
    return [(last[vehicle.node] - naive).total_seconds() for vehicle in vehicles]


def missing(hub: Engine, vehicles: list[Vehicle]) -> int:
    """The day's rows (by id) that did not reach the hub."""
    with hub.connect() as connection:
        found = {
            name: set(connection.execute(text(f"SELECT id FROM {name}")).scalars())
            for name in DAY_TABLES
        }
    return sum(len(vehicle.rows[name] - found[name]) for vehicle in vehicles for name in DAY_TABLES)


def day_row_count(hub: Engine) -> int:
    with hub.connect() as connection:
        return sum(
            int(connection.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0)
            for name in DAY_TABLES
        )


def applied_twice(hub: Engine) -> int:
    """Changes (a row at a version) the hub's change log holds more than once."""
    with hub.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM (SELECT table_name, row_id, version FROM sync_change "
                    "GROUP BY table_name, row_id, version HAVING count(*) > 1) AS twice"
                )
            ).scalar()
            or 0
        )


def floor(server_url: str, hub: Engine) -> tuple[float, int]:
    """The day tables' rows as the hub holds them, inserted into an empty database of the
    same schema with one `executemany` per table in one transaction (foreign keys off, no
    change capture): the seconds it takes and the rows."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with hub.connect() as connection:
        for name in DAY_TABLES:
            table = schema.metadata.tables[name]
            rows[name] = [dict(row) for row in connection.execute(table.select()).mappings()]
    with hub_database(server_url) as url:
        target = plain_engine(url)
        try:
            with target.begin() as connection:
                connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for name in DAY_TABLES:  # the hub's copy carries change-capture triggers
                    for trigger in connection.execute(
                        text("SHOW TRIGGERS WHERE `Table` = :t"), {"t": name}
                    ).scalars():
                        connection.execute(text(f"DROP TRIGGER `{trigger}`"))
            started = time.perf_counter()
            with target.begin() as connection:
                connection.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for name in DAY_TABLES:
                    if rows[name]:
                        connection.execute(schema.metadata.tables[name].insert(), rows[name])
            return time.perf_counter() - started, sum(len(found) for found in rows.values())
        finally:
            target.dispose()


def measure(
    server_url: str,
    vehicles: int = 20,
    visits: int = 30,
    processes: int = 2,
    threads: int = 4,
    seed: int = 20261201,
    slots: int = 1,
    pushers: int = 2,
) -> Figures:
    with (
        tempfile.TemporaryDirectory() as tmp,
        hub_database(server_url) as url,
        hub_processes(
            url, Path(tmp), processes, threads, HUB_SYNC_APPLY_SLOTS=str(slots)
        ) as servers,
        ExitStack() as doors,
    ):
        hub = plain_engine(url)
        made: list[Vehicle] = []
        try:
            meters = [doors.enter_context(metering(server.base)) for server in servers]
            made = fleet(hub, [meter.url for meter in meters], Path(tmp), vehicles, visits, seed)
            before = day_row_count(hub)
            for meter in meters:
                meter.reset()
            synced, started = push_all(made, pushers)
            seconds = max(synced, drained(hub, started))
            rows = sum(len(ids) for vehicle in made for ids in vehicle.rows.values())
            floor_seconds, _ = floor(server_url, hub)
            return Figures(
                vehicles,
                visits,
                sum(vehicle.changes for vehicle in made),
                rows,
                seconds,
                synced,
                at_head_office(hub, made, started),
                [s for vehicle in made for s in vehicle.latencies],
                [s for vehicle in made for s in vehicle.hub_latencies],
                [s for meter in meters for s in meter.seconds],
                sum(vehicle.errors for vehicle in made),
                sum(vehicle.pulled for vehicle in made),
                missing(hub, made),
                day_row_count(hub) - before - rows,
                applied_twice(hub),
                floor_seconds,
                processes,
                threads,
                slots,
                pushers,
            )
        finally:
            hub.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def table(figures: Figures) -> str:
    f = figures
    rate = f.changes / f.seconds
    row_rate = f.rows / f.seconds
    floor_rate = f.rows / f.floor_seconds
    ms = [s * 1000 for s in f.latencies]
    hub = [s * 1000 for s in f.hub_latencies]
    door = [s * 1000 for s in f.door_latencies]
    once = "yes" if f.missing_rows == f.extra_rows == f.applied_twice == 0 else "NO"
    return "\n".join(
        [
            f"Hub ingest: {f.vehicles} vehicles x {f.visits} visits pushed at once into "
            f"{f.processes} `clinic-hub serve` process(es) x {f.threads} threads on MySQL, "
            f"{f.slots} inline apply slot(s) each; the vehicles push from {f.pushers} "
            "process(es) at the lowest CPU priority",
            f"{'contender':<40} {'seconds':>8} {'changes':>8} {'rows':>8} {'changes/s':>10} "
            f"{'rows/s':>8}  ratio",
            f"{'sync pushes, until all applied':<40} {f.seconds:>8.2f} {f.changes:>8,} "
            f"{f.rows:>8,} {rate:>10,.0f} {row_rate:>8,.0f}  1.00x",
            f"{'floor: same rows, plain executemany':<40} {f.floor_seconds:>8.2f} {'-':>8} "
            f"{f.rows:>8,} {'-':>10} {floor_rate:>8,.0f}  the floor is "
            f"{floor_rate / row_rate:,.1f}x faster",
            f"push latency over {len(ms)} exchanges, at the laptops: {_spread(ms)}",
            f"  at the hub's door (request in to reply out): {_spread(door)}",
            f"  of which the hub's own time to answer (Server-Timing): {_spread(hub)}",
            f"every vehicle's sync done after {f.synced_seconds:,.1f} s; its day at head office "
            f"(last batch applied) after p50 {statistics.median(f.at_head_office):,.1f} s, "
            f"p95 {percentile(f.at_head_office, 0.95):,.1f} s, last "
            f"{max(f.at_head_office):,.1f} s",
            f"vehicles whose sync ended with its pull: {f.pulled} of {f.vehicles} (the others "
            "pull on their next sync)",
            f"errors (syncs failed and started again): {f.errors}",
            f"exactly once: {once} ({f.missing_rows} of the day's {f.rows:,} rows missing at "
            f"the hub, {f.extra_rows} extra; {f.applied_twice} changes logged twice)",
        ]
    )


def _spread(ms: list[float]) -> str:
    return (
        f"p50 {statistics.median(ms):,.0f} ms, p95 {percentile(ms, 0.95):,.0f} ms, "
        f"p99 {percentile(ms, 0.99):,.0f} ms, max {max(ms):,.0f} ms"
    )


def main() -> None:
    seal_with_bench_key()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int, default=20)
    parser.add_argument("--visits", type=int, default=30, help="visits in each vehicle's day")
    parser.add_argument("--processes", type=int, default=2, help="`clinic-hub serve` processes")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads per process")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument(
        "--slots", type=int, default=1, help="inline apply slots per process (99: all inline)"
    )
    parser.add_argument(
        "--pushers", type=int, default=2, help="processes the simulated laptops push from"
    )
    args = parser.parse_args()
    if args.pushers < 1:
        parser.error("--pushers must be at least 1")
    server = os.environ.get(ENV, DEFAULT_SERVER)
    with machine.noted():
        figures = measure(
            server,
            args.vehicles,
            args.visits,
            args.processes,
            args.threads,
            args.seed,
            args.slots,
            args.pushers,
        )
        print(table(figures))


if __name__ == "__main__":
    main()
