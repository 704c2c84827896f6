"""How long a vehicle laptop's initial load takes (issue 10, benchmark 5): N patients with a
visit on the vehicle plus reference data (a formulary, tariffs) at a real `clinic-hub
serve` on MySQL, pulled over HTTP through the byte-counting proxy (`bench/meter.py`) into
a fresh SQLCipher edge by the bulk snapshot (`EdgeSync.load`, then a sync for the rest).

Side by side in the same run: (a) the floor, the same rows inserted with plain
`executemany` in one transaction into a fresh SQLCipher file without triggers; (b) the
per-row pull (the change log replayed through `EdgeSync.run`) for a second vehicle with
`--per-row-patients` patients, beside the bulk load of that same vehicle. Each load runs
in its own process, so its peak memory is its own.

    python -m bench.initial_load --patients 50000

(MySQL at HUB_TEST_DATABASE_URL's server; a private database is made and dropped.)"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import secrets
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

import schema
from bench import machine, seal_with_bench_key
from bench.day import hub_database, hub_processes
from bench.meter import Count, metering
from common.database import new_session, plain_engine, sqlcipher_engine
from common.node import ensure_node, new_device_id
from edge.sync import service as edge_sync
from hub.sync import device as devices
from schema import migrate
from schema.base import utcnow
from schema.models import Item, Patient, Tariff, Vehicle, Visit
from sync.snapshot import CHUNK_ROWS

SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
SEED_CHUNK = 2000
ITEMS = 400
TARIFFS = 200


def register_patients(
    engine: Engine, vehicle_id: str, patients: int, *, open_: bool = True
) -> None:
    """`patients` patients registered at head office, each with a visit on the vehicle (so
    the vehicle's sync brings them), in chunks; the visits are open at registration, or
    closed (off the crew's queue) when not `open_`."""
    today = utcnow().date()
    stage, status = ("registration", "open") if open_ else ("closure", "closed")
    for start in range(0, patients, SEED_CHUNK):
        with new_session(engine) as session, session.begin():
            people = [
                Patient(
                    first_name=f"Name{n}",
                    last_name=f"Surname{n}",
                    date_of_birth=dt.date(1950, 1, 1) + dt.timedelta(days=n % 20000),
                    sex="F" if n % 2 else "M",
                    registered_vehicle_id=vehicle_id,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
                for n in range(start, min(start + SEED_CHUNK, patients))
            ]
            session.add_all(people)
            session.flush()
            session.add_all(
                Visit(
                    patient_id=person.id,
                    vehicle_id=vehicle_id,
                    visit_date=today,
                    open_day=today,
                    stage=stage,
                    status=status,
                    opened_by="bench",
                    opened_at=utcnow(),
                    closed_at=None if open_ else utcnow(),
                )
                for person in people
            )


def seed_reference(url: str) -> None:
    """A formulary and tariffs, as head office keeps them."""
    engine = plain_engine(url)
    try:
        with new_session(engine) as session, session.begin():
            session.add_all(
                Item(name=f"Medicine {n}", kind="medicine", unit="tablet", nappi_code=f"N{n:07d}")
                for n in range(ITEMS)
            )
            session.add_all(
                Tariff(
                    code=f"T{n:04d}",
                    description=f"Tariff {n}",
                    kind="consult",
                    amount=Decimal("350.00"),
                )
                for n in range(TARIFFS)
            )
    finally:
        engine.dispose()


def seed_vehicle(url: str, patients: int, tokens: int) -> tuple[str, list[str]]:
    """A vehicle with `patients` patients, each with a visit on it; returns (vehicle, tokens)."""
    engine = plain_engine(url)
    try:
        with new_session(engine) as session, session.begin():
            plate = secrets.token_hex(3).upper()
            vehicle = Vehicle(
                name=f"Bench {plate}", registration_plate=plate, practice_number="0123456"
            )
            session.add(vehicle)
        register_patients(engine, vehicle.id, patients)
        with new_session(engine) as session, session.begin():
            issued = [devices.issue_token(session, vehicle.id, None).token for _ in range(tokens)]
        return vehicle.id, issued
    finally:
        engine.dispose()


def peak_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user and system), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def new_edge(folder: Path, url: str, token: str, key: bytes) -> Path:
    """A fresh, migrated SQLCipher edge enrolled at the hub (through the meter)."""
    folder.mkdir(parents=True)
    database = folder / "edge.db"
    engine = sqlcipher_engine(database, key)
    try:
        migrate.upgrade(engine)
        with new_session(engine) as session, session.begin():
            ensure_node(session, new_device_id(), "edge")
        edge_sync.enroll(engine, folder / "secrets", url, token)
    finally:
        engine.dispose()
    return database


def load(mode: str, folder: str, key: bytes, out: Any) -> None:
    """In a process of its own: the load, timed, with its peak memory."""
    engine = sqlcipher_engine(Path(folder) / "edge.db", key)
    config = {"SECRETS_DIR": str(Path(folder) / "secrets")}
    started, cpu = time.perf_counter(), time.process_time()
    rows = chunks = 0
    if mode == "bulk":
        loaded = edge_sync.load(engine, config, lambda done, total: None, CHUNK_ROWS)
        rows, chunks = loaded.rows, loaded.chunks
        result = edge_sync.run(engine, config)
    else:  # `EdgeSync.run` alone: the change log replayed change by change (no snapshot)
        result = edge_sync.client(engine, config).run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put(
        {
            "seconds": seconds,
            "cpu": cpu,
            "rows": rows + result.pulled,
            "requests": chunks + result.exchanges,
            "peak_mb": peak,
        }
    )


def timed_load(mode: str, folder: Path, key: bytes) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=load, args=(mode, str(folder), key, out))
    child.start()
    figures: dict[str, Any] = out.get()
    child.join()
    return figures


def floor(database: Path, key: bytes, folder: Path) -> tuple[int, float]:
    """The same rows as the loaded edge holds, inserted with plain executemany in one
    transaction into a fresh SQLCipher file with no triggers: (rows, seconds)."""
    source = sqlcipher_engine(database, key)
    data: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with source.connect() as connection:
        for name in schema.synced_tables():
            cursor = connection.exec_driver_sql(f'SELECT * FROM "{name}"')  # noqa: S608
            columns = list(cursor.keys())
            found = cursor.fetchall()
            if found:
                data[name] = (columns, [tuple(r) for r in found])
    source.dispose()
    target = sqlcipher_engine(folder / "floor.db", key)
    schema.metadata.create_all(target)
    raw = target.raw_connection()
    try:
        started = time.perf_counter()
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        for name, (columns, rows) in data.items():
            marks = ", ".join("?" for _ in columns)
            quoted = ", ".join(f'"{c}"' for c in columns)
            cursor.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', rows)  # noqa: S608
        raw.commit()
        seconds = time.perf_counter() - started
    finally:
        raw.close()
        target.dispose()
    return sum(len(rows) for _, rows in data.values()), seconds


def line(label: str, figures: dict[str, Any], count: Count, hub_mb: float | None = None) -> str:
    rate = figures["rows"] / figures["seconds"]
    hub = f"{hub_mb:9.0f}" if hub_mb is not None else "        -"
    return (
        f"{label:<44} {figures['rows']:>8,} {figures['seconds']:8.1f} {rate:>9,.0f} "
        f"{count.requests:>6} {count.total:>11,} {figures['peak_mb']:8.0f} {hub}"
    )


def main() -> None:
    seal_with_bench_key()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=50_000)
    parser.add_argument("--per-row-patients", type=int, default=2_000)
    args = parser.parse_args()
    with machine.noted():
        run(args)


def run(args: argparse.Namespace) -> None:
    """Seed the hub, load a new edge from it, and print the initial load beside its
    baselines."""
    server = os.environ.get("HUB_TEST_DATABASE_URL", SERVER)
    key = secrets.token_bytes(32)
    with (
        tempfile.TemporaryDirectory() as tmp,
        hub_database(server) as url,
        hub_processes(url, Path(tmp), 1) as (hub,),
    ):
        folder = Path(tmp)
        started = time.perf_counter()
        seed_reference(url)
        big, (big_token,) = seed_vehicle(url, args.patients, 1)
        small, small_tokens = seed_vehicle(url, args.per_row_patients, 2)
        print(
            f"hub seeded: {args.patients:,} + {args.per_row_patients:,} patients with a "
            f"visit each, {ITEMS} items, {TARIFFS} tariffs; "
            f"{time.perf_counter() - started:.1f} s"
        )
        with metering(hub.base) as meter:
            edge = new_edge(folder / "big", meter.url, big_token, key)
            meter.reset()
            hub_cpu = cpu_seconds(hub.pid)
            bulk = timed_load("bulk", folder / "big", key)
            bulk_count, hub_mb = meter.reset(), peak_mb(hub.pid)
            bulk["hub_cpu"] = cpu_seconds(hub.pid) - hub_cpu
            rows = []
            if args.per_row_patients:
                for mode, token in zip(("bulk", "per-row"), small_tokens, strict=True):
                    new_edge(folder / mode, meter.url, token, key)
                    meter.reset()
                    rows.append((mode, timed_load(mode, folder / mode, key), meter.reset()))
        floor_rows, floor_seconds = floor(edge, key, folder)
    report(args, big, bulk, bulk_count, hub_mb, floor_rows, floor_seconds, rows)


def report(
    args: argparse.Namespace,
    vehicle: str,
    bulk: dict[str, Any],
    count: Count,
    hub_mb: float,
    floor_rows: int,
    floor_seconds: float,
    small: list[tuple[str, dict[str, Any], Count]],
) -> None:
    print(f"initial load of vehicle {vehicle} ({args.patients:,} patients)")
    print(
        f"{'contender':<44} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'reqs':>6} "
        f"{'wire bytes':>11} {'edge MB':>8} {'hub MB':>9}"
    )
    print(line("bulk snapshot + sync (edge CPU {:.1f} s)".format(bulk["cpu"]), bulk, count, hub_mb))
    print(f"    hub process CPU {bulk['hub_cpu']:.1f} s meanwhile (MySQL's not counted)")
    floor_rate = floor_rows / floor_seconds
    print(
        f"{'(a) floor: executemany, no triggers':<44} {floor_rows:>8,} {floor_seconds:8.1f} "
        f"{floor_rate:>9,.0f}      -           -        -         -"
    )
    rate = bulk["rows"] / bulk["seconds"]
    print(f"    bulk load at {rate / floor_rate:.2f}x the floor's rows/s")
    for mode, figures, counted in small:
        label = f"(b) {args.per_row_patients:,} patients, {mode}"
        print(line(label, figures, counted))
    if len(small) == 2:
        (_, fast, _), (_, slow, _) = small
        ratio = (fast["rows"] / fast["seconds"]) / (slow["rows"] / slow["seconds"])
        print(f"    bulk snapshot {ratio:.1f}x the per-row pull's rows/s on the same vehicle")
    print("(hub MB: the hub process's peak resident memory after the bulk load)")


if __name__ == "__main__":
    main()
