"""What a day of a clinic's work costs on the wire when it syncs to the hub, beside the
naive way (one uncompressed JSON request per row), the compression floor (the same rows as
one gzip'd JSON batch) and a real peer (PouchDB replicating them to express-pouchdb, after
`npm ci --prefix bench/peer`), all counted by the same loopback proxy in the same run.

Run `python -m bench.sync_wire` (150 visits; `--visits N` for another size). The hub runs
on a private MySQL database created on HUB_BENCH_DATABASE_URL and dropped afterwards; the
edge is a real SQLCipher file; the sync goes over real HTTP.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from bench import machine, seal_with_bench_key
from bench.day import (
    DEFAULT_SERVER,
    ENV,
    day_rows,
    enrolled,
    formulary,
    hub_site,
    ids,
    new_edge,
    pending,
    stock_a_vehicle,
    work_a_day,
)
from bench.meter import Count, Meter, metering, serving

PEER = Path(__file__).parent / "peer"


@dataclass(frozen=True)
class Figures:
    visits: int
    rows: int
    changes: int
    sync: Count
    sync_seconds: float
    idle: Count
    naive: Count
    floor: Count
    hub_visits: int
    peer: tuple[Count, Count] | str  # the day and an idle replication, or why not run


class _Sink(BaseHTTPRequestHandler):
    """Takes any POST and answers as a minimal JSON API would."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"ok":true}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: a benchmark prints only its table."""


@contextmanager
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the contenders ----------------------------------------------------------------------


def naive(meter: Meter, found: list[dict[str, Any]]) -> Count:
    """One uncompressed JSON POST per row, as a simple REST client would send them."""
    meter.reset()
    with requests.Session() as http:
        for entry in found:
            body = json.dumps(entry["row"]).encode()
            response = http.post(
                f"{meter.url}/api/{entry['table']}",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            response.raise_for_status()
    return meter.reset()


def floor(meter: Meter, found: list[dict[str, Any]]) -> Count:
    """Every row in one gzip'd JSON batch: what compression alone can reach."""
    meter.reset()
    body = gzip.compress(json.dumps(found, separators=(",", ":")).encode(), compresslevel=9)
    response = requests.post(
        f"{meter.url}/api/batch",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        timeout=30,
    )
    response.raise_for_status()
    return meter.reset()


def pouchdb(found: list[dict[str, Any]], tmp: Path) -> tuple[Count, Count] | str:
    """The same rows as documents replicated by PouchDB to express-pouchdb over the meter,
    then a replication with nothing new; the reason instead when the peer is not installed."""
    if shutil.which("node") is None:
        return "not run: node is not installed"
    if not (PEER / "node_modules" / "pouchdb").is_dir():
        return "not run: `npm ci` in bench/peer has not been run"
    docs = tmp / "docs.json"
    as_docs = [{"_id": f"{entry['table']}:{entry['row']['id']}", **entry["row"]} for entry in found]
    docs.write_text(json.dumps(as_docs))
    with subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        ["node", "peer.js", "serve"], cwd=PEER, stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            base = f"http://127.0.0.1:{int(server.stdout.readline())}"
            requests.put(f"{base}/day", timeout=30).raise_for_status()  # yesterday's database
            with metering(base) as meter:
                return _replicate(meter, docs, len(found))
        finally:
            server.terminate()


def _replicate(meter: Meter, docs: Path, expected: int) -> tuple[Count, Count]:
    """Run the replicator through `meter`: the day, then a replication with nothing new."""
    with subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        ["node", "peer.js", "replicate", f"{meter.url}/day", str(docs)],
        cwd=PEER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as replicator:
        assert replicator.stdin is not None and replicator.stdout is not None
        meter.reset()
        written = replicator.stdout.readline().split()
        if written[:1] != ["done"] or int(written[1]) != expected:
            raise RuntimeError(f"PouchDB replication failed: {written}")
        day = meter.reset()
        replicator.stdin.write("again\n")
        replicator.stdin.flush()
        replicator.stdout.readline()
        return day, meter.reset()


def measure(visits: int, server_url: str, seed: int = 20261201) -> Figures:
    """Generate the day on a new edge, sync it to a new hub and run the baselines."""
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory() as tmp,
        hub_site(server_url, Path(tmp) / "hub") as hub,
        sink() as sink_url,
        metering(sink_url) as sink_meter,
    ):
        edge = new_edge(Path(tmp) / "edge.db", secrets.token_bytes(32))
        try:
            vehicle_id, stock = stock_a_vehicle(hub.engine, formulary(hub.engine))
            with serving(hub.app) as hub_base, metering(hub_base) as meter:
                client = enrolled(edge, hub.engine, vehicle_id, meter.url, Path(tmp) / "secrets")
                before = ids(edge)
                work_a_day(edge, vehicle_id, stock, visits, rng)
                changes = pending(edge)
                meter.reset()
                started = time.perf_counter()
                client.run()
                seconds = time.perf_counter() - started
                synced = meter.reset()
                client.run()
                idle = meter.reset()
            found = day_rows(edge, before)
            with hub.engine.connect() as connection:
                hub_visits = connection.execute(text("SELECT count(*) FROM visit")).scalar()
            return Figures(
                visits,
                len(found),
                changes,
                synced,
                seconds,
                idle,
                naive(sink_meter, found),
                floor(sink_meter, found),
                int(hub_visits or 0),
                pouchdb(found, Path(tmp)),
            )
        finally:
            edge.dispose()


# -- the table ---------------------------------------------------------------------------


def table(figures: Figures) -> str:
    v = figures.visits
    sync_total = figures.sync.total

    def line(name: str, count: Count, ratio: str, per_visit: bool = True) -> str:
        share = f"{count.total / v:,.0f}" if per_visit else "-"
        return (
            f"{name:<44} {count.requests:>9,} {count.sent:>11,} {count.received:>11,} "
            f"{count.total:>12,} {share:>10} {count.largest:>10,}  {ratio}"
        )

    rows = [
        f"Sync wire cost: {v} visits, {figures.rows:,} rows, {figures.changes:,} changes "
        f"in the edge's change log; hub received {figures.hub_visits} visits; "
        f"sync took {figures.sync_seconds:.2f} s",
        f"{'contender':<44} {'requests':>9} {'bytes up':>11} {'bytes down':>11} "
        f"{'bytes total':>12} {'per visit':>10} {'largest rq':>10}  ratio to sync",
        line("sync edge -> hub (zstd batches)", figures.sync, "1.00x"),
        line(
            "(a) naive: uncompressed JSON, 1 request/row",
            figures.naive,
            f"{figures.naive.total / sync_total:.2f}x more bytes, "
            f"{figures.naive.requests / max(figures.sync.requests, 1):,.0f}x the requests",
        ),
        line(
            "(b) floor: all rows as one gzip'd JSON batch",
            figures.floor,
            f"sync is {sync_total / figures.floor.total:.2f}x the floor",
        ),
        line("(c) sync with nothing to send", figures.idle, "(absolute)", per_visit=False),
    ]
    if isinstance(figures.peer, str):
        rows.append(f"{'(d) PouchDB -> express-pouchdb':<44} {figures.peer}")
    else:
        day, idle = figures.peer
        rows += [
            line(
                "(d) PouchDB -> express-pouchdb, same rows",
                day,
                f"{day.total / sync_total:.2f}x more bytes, "
                f"{day.requests / max(figures.sync.requests, 1):.1f}x the requests",
            ),
            line(
                "(d) PouchDB with nothing to send",
                idle,
                f"{idle.total / figures.idle.total:.2f}x the bytes of (c)",
                per_visit=False,
            ),
        ]
    return "\n".join(rows)


def main() -> None:
    seal_with_bench_key()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    with machine.noted():
        print(table(measure(args.visits, os.environ.get(ENV, DEFAULT_SERVER), args.seed)))


if __name__ == "__main__":
    main()
