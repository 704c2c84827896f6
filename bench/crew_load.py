"""How the edge holds up under a busy crew: 10 simulated crew browsers (threads, each
logged in through the login page as clerk, nurse, doctor and social worker) walk visits
through the workflow against the edge app under waitress, reading the queue, the visit, the
patient and the recorded vitals and diagnoses between writes. Three runs side by side:

- over SQLCipher (the real edge database, opened with a raw 256-bit key);
- over plain SQLite of the same schema, the same driver without a key: the SQLCipher
  overhead is the ratio of the two. The two quiet runs take turns (`--rounds`, 9 by
  default, in alternating order; a turn ends when each browser has finished the visit it
  is in), so a change in the machine's load weighs on both;
- over SQLCipher while a sync applies: `clinic-edge sync` runs in its own process, pulling
  a batch of patients the hub registered to the vehicle and pushing the crew's work; three
  syncs one after another (`--syncs`), each with a batch of its own, so that the p95 rests
  on more than a few dozen requests.

The same requests are also timed inside each edge server (`ServerClock`, from the WSGI
call to its answer), so that what the browsers see splits into the server's own time and
the rest: their client, the loopback and waiting for a core.

Run `python -m bench.crew_load` (10 browsers, at least 45 s per quiet run; `--browsers`,
`--seconds`, `--sync-patients`). By default each browser sends its next request the
moment the last one answers: the edge at saturation, where by Little's law latency is
simply browsers divided by throughput. `--think-ms N` makes each browser pause a random
0-2N ms (N on average) before each request, as the person holding the tablet does, so
latency is measured under a given offered load rather than at saturation. The edge app
runs in its own process (`python -m bench.crew_load serve ...`, waitress with 8 threads,
as `clinic-edge serve` does); the hub for enrolment and the sync is `clinic-hub serve`
on a private MySQL database on HUB_BENCH_DATABASE_URL's server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlcipher3
from sqlalchemy import Engine, create_engine
from stdnum import luhn

from bench import AUDIT_KEY, machine, seal_with_bench_key
from bench.day import (
    DEFAULT_SERVER,
    ENV,
    enrolled,
    formulary,
    hang_up,
    hub_database,
    hub_processes,
    new_edge,
    socket_port,
    stock_a_vehicle,
    wait_for,
)
from bench.initial_load import register_patients
from common.database import (
    BUSY_TIMEOUT_SECONDS,
    EDGE_POOL,
    configure_engine,
    new_session,
    plain_engine,
)
from common.node import ensure_node
from common.users import assign_vehicle, create_user, find_by_username
from schema import migrate

ROLES = ("clerk", "nurse", "doctor", "social_worker")
PASSWORD = "Crew-bench-password-1"  # noqa: S105 - a throwaway benchmark account
THREADS = 8
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_ids = itertools.count(1)


@dataclass
class Timings:
    reads: list[float] = field(default_factory=list)
    writes: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # the same requests timed inside the edge server, from the WSGI call to its answer:
    # what is left of the browsers' figures is their own client, the loopback and waiting
    # for a core
    served: Timings | None = None
    visits: int = 0
    synced: str = ""  # what the concurrent sync did, if one ran


# -- the edge under test ---------------------------------------------------------------


def plain_options(path: Path | str, key: bytes) -> dict[str, Any]:
    """Engine options opening `path` as plain SQLite: the SQLCipher driver without a key,
    so the only difference from the real edge is the encryption."""
    del key

    def creator() -> sqlcipher3.Connection:
        return sqlcipher3.connect(
            str(path), timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False, isolation_level=None
        )

    return {"creator": creator, "module": sqlcipher3, **EDGE_POOL}


def serve(path: str, key: str, plain: bool, port: int, data: str) -> None:
    """The edge app on the database under waitress, as `clinic-edge serve` runs it."""
    from waitress import serve as waitress_serve

    import edge

    if plain:  # the only change: how a connection is opened
        edge.sqlcipher_engine_options = plain_options  # type: ignore[attr-defined]
    app = edge.create_app(
        {
            "DATABASE_PATH": path,
            "DB_KEY": key,
            "DATA_DIR": data,
            "SECRETS_DIR": str(Path(data) / "secrets"),
            "SECRET_KEY": secrets.token_hex(32),
            "AUDIT_KEY": AUDIT_KEY.text(),
            "COOKIE_SECURE": False,  # plain HTTP on loopback, as EDGE_COOKIE_SECURE=0 allows
            "LOGIN_RATE_LIMIT": "1000 per minute",  # the tablets share one loopback address
        }
    )
    app.wsgi_app = ServerClock(app.wsgi_app, Path(data) / SERVER_TIMES)  # type: ignore[method-assign]
    waitress_serve(app, host="127.0.0.1", port=port, threads=THREADS, ident="bench")


SERVER_TIMES = "server-times.json"


class ServerClock:
    """WSGI middleware timing each API request inside the server (the crew's requests are
    all under /api/; logging in and the start-up health probe are timed on neither side),
    written out as JSON when the server is told to stop."""

    def __init__(self, app: Any, out: Path) -> None:
        self.app, self.out = app, out
        self.times: list[tuple[str, float]] = []
        signal.signal(signal.SIGTERM, self._stop)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/api/") or path == "/api/health":
            return self.app(environ, start_response)
        started = time.perf_counter()
        try:
            return self.app(environ, start_response)  # Flask answers with its whole body
        finally:
            self.times.append((environ["REQUEST_METHOD"], time.perf_counter() - started))

    def _stop(self, *_: Any) -> None:
        self.out.write_text(json.dumps(self.times))
        raise SystemExit(0)


@dataclass
class Served:
    """An edge server's address, and once it has stopped, its own timings."""

    base: str
    timings: Timings = field(default_factory=Timings)


@contextmanager
def edge_process(path: Path, key: bytes, plain: bool) -> Iterator[Served]:
    port = socket_port()
    command = [sys.executable, "-m", "bench.crew_load", "serve", str(path), key.hex()]
    command += ["--port", str(port), "--data", str(path.parent)] + (["--plain"] if plain else [])
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603 - our own
    served = Served(f"http://127.0.0.1:{port}")
    try:
        wait_for(served.base)
        yield served
    finally:
        process.terminate()
        process.wait(30)
    for method, seconds in json.loads((path.parent / SERVER_TIMES).read_text()):
        (served.timings.writes if method == "POST" else served.timings.reads).append(seconds)


def plain_edge(path: Path, node: str) -> Engine:
    engine = create_engine(f"sqlite:///{path}", **plain_options(path, b""))
    configure_engine(engine)
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        ensure_node(session, node, "edge")
    return engine


def hire(hub: Engine, vehicle_id: str) -> None:
    """The crew, made at head office (once) and assigned to the vehicle: its laptop's
    first sync brings them, as on a real vehicle."""
    with new_session(hub) as session, session.begin():
        for role in ROLES:
            user = find_by_username(session, f"bench.{role}") or create_user(
                session,
                username=f"bench.{role}",
                full_name=f"Bench {role.replace('_', ' ').title()}",
                role=role,
                password=PASSWORD,
            )
            assign_vehicle(session, user, vehicle_id)


# -- a crew browser --------------------------------------------------------------------


class Browser:
    """One crew tablet: a logged-in session per role, timing every request."""

    def __init__(
        self, base: str, timings: Timings, lock: threading.Lock, think: float, seed: int
    ) -> None:
        self.base = base
        self.timings = timings
        self.lock = lock
        self.think = think
        self.pauses = random.Random(seed)
        self.sessions: dict[str, tuple[requests.Session, str]] = {}
        for role in ROLES:
            http = requests.Session()
            form = {"username": f"bench.{role}", "password": PASSWORD}
            http.post(f"{base}/login", data=form, timeout=30).raise_for_status()
            match = _CSRF.search(http.get(f"{base}/", timeout=30).text)
            if match is None:
                raise RuntimeError(f"logging in as {role} failed: no CSRF token on the page")
            self.sessions[role] = (http, match.group(1))

    def call(self, role: str, method: str, path: str, body: Any = None) -> Any:
        http, csrf = self.sessions[role]
        headers = {"X-CSRF-Token": csrf} if method == "POST" else {}
        if self.think:
            time.sleep(self.pauses.uniform(0, 2 * self.think))  # not timed: the person
        started = time.perf_counter()
        response = http.request(method, self.base + path, json=body, headers=headers, timeout=60)
        seconds = time.perf_counter() - started
        with self.lock:
            (self.timings.writes if method == "POST" else self.timings.reads).append(seconds)
            if response.status_code >= 400:
                self.timings.errors.append(f"{method} {path}: {response.status_code}")
        return response.json().get("data") if response.ok else None

    def visit(self, rng: random.Random) -> bool:
        """One patient through the five stages, reading as the crew does between steps."""
        number = next(_ids)
        body = f"{850314}{number % 5000:04d}08"
        patient = self.call(
            "clerk",
            "POST",
            "/api/patients",
            {
                "first_name": rng.choice(("Thandi", "Sipho", "Lerato", "Johannes")),
                "last_name": f"Mokoena{number}",
                "id_number": body + luhn.calc_check_digit(body),
                "phone": "082 123 4567",
                "medical_aid_number": f"1102{number:06d}",
                "dependant_code": "01",
            },
        )
        if patient is None:
            return False
        self.call("clerk", "GET", f"/api/patients?q=Mokoena{number}")
        visit = self.call("clerk", "POST", "/api/visits", {"patient_id": patient["id"]})
        if visit is None:
            return False
        v = visit["id"]
        steps = (
            ("clerk", None),
            ("nurse", ("/api/vital-signs", {"visit_id": v, "pulse": rng.randrange(55, 110)})),
            ("doctor", ("/api/diagnoses", {"visit_id": v, "icd10_code": "J06.9"})),
            ("social_worker", ("/api/clinical-notes", {"visit_id": v, "body": "Home care."})),
        )
        for role, record in steps:
            self.call(role, "GET", "/api/visits/queue")
            self.call(role, "GET", f"/api/visits/{v}")
            if record is not None:
                self.call(role, "GET", f"/api/patients/{patient['id']}")
                self.call(role, "POST", *record)
            self.call(role, "POST", f"/api/visits/{v}/advance")
        self.call("doctor", "GET", f"/api/vital-signs/{v}")
        self.call("social_worker", "GET", f"/api/diagnoses/{v}")
        return True


class Crew:
    """`browsers` crew browsers, logged in once, that can be set to work again and again
    (`think` seconds of pause on average before each request); their timings add up in
    `timings`."""

    def __init__(self, base: str, browsers: int, seed: int, think: float = 0.0) -> None:
        self.timings, self._lock = Timings(), threading.Lock()
        self._seed = seed
        self.browsers = [
            Browser(base, self.timings, self._lock, think, seed - n) for n in range(browsers)
        ]
        self._rounds = 0

    def work(self, arm: Callable[[threading.Event], None]) -> None:
        """Work visits until the event that `arm` is given (once they are ready) is set."""
        until = threading.Event()
        self._rounds += 1

        def walk(browser: Browser, rng: random.Random) -> None:
            while not until.is_set():
                try:
                    finished = browser.visit(rng)
                except (requests.RequestException, ValueError) as error:  # counted, not fatal
                    finished = False
                    with self._lock:
                        self.timings.errors.append(f"{type(error).__name__}: {error}")
                if finished:
                    with self._lock:
                        self.timings.visits += 1

        threads = [
            threading.Thread(
                target=walk, args=(browser, random.Random(self._seed + 1000 * self._rounds + n))
            )
            for n, browser in enumerate(self.browsers)
        ]
        started = time.perf_counter()
        arm(until)
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.timings.seconds += time.perf_counter() - started

    def close(self) -> None:
        for browser in self.browsers:
            for http, _ in browser.sessions.values():
                http.close()


def for_seconds(seconds: float) -> Callable[[threading.Event], None]:
    def arm(until: threading.Event) -> None:
        threading.Timer(seconds, until.set).start()

    return arm


# -- the runs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    browsers: int
    think: float
    cipher: Timings
    plain: Timings
    syncing: Timings


def while_syncing(
    base: str,
    browsers: int,
    seed: int,
    env: dict[str, str],
    think: float,
    syncs: int,
    prepare: Callable[[], None],
) -> Timings:
    """The crew's load from a second before `clinic-edge sync` starts until it is done,
    `syncs` times over (each after `prepare` has given the hub a new batch to send), so
    the p95 rests on several syncs' worth of requests rather than one."""
    edge_cli = str(Path(sys.executable).parent / "clinic-edge")
    results: list[str] = []

    def sync(until: threading.Event) -> None:
        started = time.perf_counter()
        done = subprocess.run([edge_cli, "sync"], env=env, capture_output=True, text=True)  # noqa: S603
        took = time.perf_counter() - started
        results.append(f"{done.stdout.strip() or done.stderr.strip()} ({took:.1f} s)")
        until.set()

    def arm(until: threading.Event) -> None:  # the crew is at work when the sync starts
        threading.Timer(1.0, sync, args=(until,)).start()

    crew = Crew(base, browsers, seed, think)
    try:
        for _ in range(syncs):
            prepare()
            crew.work(arm)
    finally:
        crew.close()
    crew.timings.synced = "; ".join(results) or "the sync did not run"
    return crew.timings


def measure(
    server_url: str,
    browsers: int = 10,
    seconds: float = 45,
    sync_patients: int = 2000,
    seed: int = 20261201,
    think: float = 0.0,
    rounds: int = 9,
    syncs: int = 3,
) -> Figures:
    """The quiet runs take turns, `rounds` slices of `seconds / rounds` each, in an order
    that alternates, so a change in the machine's load during the run weighs on both
    alike; the sync run follows on an edge of its own."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        hub_database(server_url) as url,
        hub_processes(url, Path(tmp), 1, 4) as (hub_server,),
    ):
        hub = plain_engine(url)
        try:
            medicines = formulary(hub)
            edges = {
                variant: _crew_edge(hub, medicines, hub_server.base, Path(tmp), number, variant)
                for number, variant in enumerate(("cipher", "plain", "syncing"))
            }
            runs = _quiet_runs(edges, browsers, seconds, seed, think, rounds)
            folder, key, vehicle_id = edges["syncing"]
            with edge_process(folder / "edge.db", key, False) as served:
                env = {
                    **os.environ,
                    "EDGE_DATABASE_PATH": str(folder / "edge.db"),
                    "EDGE_DB_KEY": key.hex(),
                    "EDGE_DATA_DIR": str(folder),
                    "EDGE_SECRETS_DIR": str(folder / "secrets"),
                }
                runs["syncing"] = while_syncing(
                    served.base,
                    browsers,
                    seed,
                    env,
                    think,
                    syncs,
                    lambda: register_patients(hub, vehicle_id, sync_patients, open_=False),
                )
            runs["syncing"].served = served.timings
        finally:
            hub.dispose()
    return Figures(browsers, think, runs["cipher"], runs["plain"], runs["syncing"])


def _crew_edge(
    hub: Engine, medicines: Any, hub_base: str, tmp: Path, number: int, variant: str
) -> tuple[Path, bytes, str]:
    """A new edge (plain SQLite for `plain`), enrolled with its own vehicle and crew."""
    folder = tmp / variant
    folder.mkdir()
    key = secrets.token_bytes(32)
    node = f"dcrew{number:08d}"
    path = folder / "edge.db"
    engine = plain_edge(path, node) if variant == "plain" else new_edge(path, key, node)
    vehicle_id, _ = stock_a_vehicle(hub, medicines, number)
    hire(hub, vehicle_id)
    try:
        hang_up(enrolled(engine, hub, vehicle_id, hub_base, folder / "secrets"))
    finally:
        engine.dispose()
    return folder, key, vehicle_id


def _quiet_runs(
    edges: dict[str, tuple[Path, bytes, str]],
    browsers: int,
    seconds: float,
    seed: int,
    think: float,
    rounds: int,
) -> dict[str, Timings]:
    """Both quiet edges served at once (the idle one costs nothing), their crews taking
    turns: cipher then plain, then plain then cipher, and so on."""
    variants = ("cipher", "plain")
    with contextlib.ExitStack() as stack:
        crews, servers = {}, {}
        for variant in variants:
            folder, key, _ = edges[variant]
            servers[variant] = stack.enter_context(
                edge_process(folder / "edge.db", key, variant == "plain")
            )
            crews[variant] = Crew(servers[variant].base, browsers, seed, think)
            stack.callback(crews[variant].close)
        for round_ in range(rounds):
            for variant in variants if round_ % 2 == 0 else variants[::-1]:
                crews[variant].work(for_seconds(seconds / rounds))
    for variant in variants:  # the servers have stopped and written their own timings
        crews[variant].timings.served = servers[variant].timings
    return {variant: crew.timings for variant, crew in crews.items()}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def table(figures: Figures) -> str:
    def ms(values: list[float], share: float) -> float:
        return max(percentile(values, share) * 1000, 1e-9)  # never 0: it divides below

    def latencies(t: Timings) -> str:
        return (
            f"{ms(t.reads, 0.5):>6.1f} {ms(t.reads, 0.95):>6.1f} {ms(t.reads, 0.99):>6.1f}  "
            f"{ms(t.writes, 0.5):>6.1f} {ms(t.writes, 0.95):>6.1f} {ms(t.writes, 0.99):>6.1f}"
        )

    def line(name: str, t: Timings) -> list[str]:
        rate = (len(t.reads) + len(t.writes)) / t.seconds
        return [f"{name:<30} {rate:>7,.0f} {t.visits:>6} {len(t.errors):>6}  {latencies(t)}"]

    def inside(name: str, t: Timings) -> list[str]:
        return [f"  {name:<49}  {latencies(t.served)}"] if t.served else []

    c, p, s = figures.cipher, figures.plain, figures.syncing
    rows = [
        f"Edge under crew load: {figures.browsers} crew browsers, waitress {THREADS} threads, "
        + (
            f"a pause of {figures.think * 1000:.0f} ms on average before each request"
            if figures.think
            else "requests back to back (saturation)"
        ),
        f"{'run':<30} {'req/s':>7} {'visits':>6} {'errors':>6}  {'read ms p50':>6} "
        f"{'p95':>6} {'p99':>6}  {'write p50':>6} {'p95':>6} {'p99':>6}",
        *line("SQLCipher (raw key)", c),
        *line("plain SQLite (same schema)", p),
        *line("SQLCipher while a sync applies", s),
        "the same requests timed inside the edge server (from the WSGI call to its answer):",
        *inside("SQLCipher", c),
        *inside("plain SQLite", p),
        *inside("SQLCipher while a sync applies", s),
        f"SQLCipher overhead at p95: reads {ms(c.reads, 0.95) / ms(p.reads, 0.95) - 1:+.0%}, "
        f"writes {ms(c.writes, 0.95) / ms(p.writes, 0.95) - 1:+.0%}; "
        f"at p50: reads {ms(c.reads, 0.5) / ms(p.reads, 0.5) - 1:+.0%}, "
        f"writes {ms(c.writes, 0.5) / ms(p.writes, 0.5) - 1:+.0%}",
        f"while syncing, p95 is {ms(s.reads, 0.95) / ms(c.reads, 0.95):.2f}x (reads) and "
        f"{ms(s.writes, 0.95) / ms(c.writes, 0.95):.2f}x (writes) the quiet SQLCipher run",
        f"the syncs: {s.synced}",
    ]
    for name, t in (("SQLCipher", c), ("plain", p), ("syncing", s)):
        kinds = Counter(re.sub(r"[0-9a-f-]{36}", "<id>", error) for error in t.errors)
        if kinds:
            rows.append(
                f"errors ({name}): " + ", ".join(f"{k} x{n}" for k, n in kinds.most_common(4))
            )
    return "\n".join(rows)


def main() -> None:
    seal_with_bench_key()
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    served = sub.add_parser("serve", help="(used by the benchmark) serve an edge database")
    served.add_argument("path")
    served.add_argument("key")
    served.add_argument("--port", type=int, required=True)
    served.add_argument("--data", required=True)
    served.add_argument("--plain", action="store_true")
    parser.add_argument("--browsers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=45, help="length of each quiet run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=9,
        help="turns the quiet SQLCipher and plain runs take, alternating (each seconds/rounds,"
        " or until every browser has finished its visit)",
    )
    parser.add_argument(
        "--sync-patients", type=int, default=2000, help="patients each sync brings from the hub"
    )
    parser.add_argument(
        "--syncs", type=int, default=3, help="syncs the crew works through, one after another"
    )
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="each browser's pause before a request, on average (0: back to back)",
    )
    args = parser.parse_args()
    if args.think_ms < 0:
        parser.error("--think-ms cannot be negative")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.syncs < 1:
        parser.error("--syncs must be at least 1")
    if args.command == "serve":
        serve(args.path, args.key, args.plain, args.port, args.data)
        return
    server = os.environ.get(ENV, DEFAULT_SERVER)
    with machine.noted():
        figures = measure(
            server,
            args.browsers,
            args.seconds,
            args.sync_patients,
            args.seed,
            args.think_ms / 1000,
            args.rounds,
            args.syncs,
        )
        print(table(figures))


if __name__ == "__main__":
    main()
