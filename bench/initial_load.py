"""How long a vehicle laptop's initial load takes: N patients with a visit on the vehicle
at a real `clinic-hub serve` on MySQL, pulled into a fresh SQLCipher edge by the sync
client over HTTP. Prints the figures; run `python -m bench.initial_load --patients 50000`
(MySQL at HUB_TEST_DATABASE_URL's server; a private database is made and dropped)."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from sqlalchemy import Engine, create_engine, make_url, text

from common.database import new_session, plain_engine, sqlcipher_engine
from common.node import ensure_node, new_device_id
from edge.sync import service as edge_sync
from hub.sync import device as devices
from schema import migrate
from schema.base import utcnow
from schema.models import Patient, Vehicle, Visit

SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
CHUNK = 2000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def register_patients(
    engine: Engine, vehicle_id: str, patients: int, *, open_: bool = True
) -> None:
    """`patients` patients registered at head office, each with a visit on the vehicle (so
    the vehicle's sync brings them), in chunks; the visits are open at registration, or
    closed (off the crew's queue) when not `open_`."""
    today = utcnow().date()
    stage, status = ("registration", "open") if open_ else ("closure", "closed")
    for start in range(0, patients, CHUNK):
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
                for n in range(start, min(start + CHUNK, patients))
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


def seed_hub(url: str, patients: int) -> tuple[str, str]:
    """A vehicle with `patients` patients, each with a visit on it; returns (vehicle, token)."""
    engine = plain_engine(url)
    try:
        with new_session(engine) as session, session.begin():
            vehicle = Vehicle(name="Bench", registration_plate="BENCH1", practice_number="0123456")
            session.add(vehicle)
        register_patients(engine, vehicle.id, patients)
        with new_session(engine) as session, session.begin():
            token = devices.issue_token(session, vehicle.id, None).token
        return vehicle.id, token
    finally:
        engine.dispose()


def serve_hub(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_DATA_DIR": str(folder / "hub"),
        "HUB_SECRETS_DIR": str(folder / "hub-secrets"),
    }
    hub = str(Path(sys.executable).parent / "clinic-hub")
    subprocess.run([hub, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
    process = subprocess.Popen(  # noqa: S603 - our own command
        [hub, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/api/health", timeout=1).status_code == 200:
                return process, base
        except requests.RequestException:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the hub did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=50_000)
    args = parser.parse_args()
    server = make_url(os.environ.get("HUB_TEST_DATABASE_URL", SERVER))
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            process, base = serve_hub(url, folder)
            try:
                started = time.perf_counter()
                vehicle, token = seed_hub(url, args.patients)
                print(
                    f"hub seeded: {args.patients} patients, {time.perf_counter() - started:.1f} s"
                )
                engine = sqlcipher_engine(folder / "edge.db", secrets.token_bytes(32))
                migrate.upgrade(engine)
                with new_session(engine) as session, session.begin():
                    ensure_node(session, new_device_id(), "edge")
                edge_sync.enroll(engine, folder / "secrets", base, token)
                config = {"SECRETS_DIR": str(folder / "secrets")}
                started, edge_cpu = time.perf_counter(), time.process_time()
                result = edge_sync.run(engine, config)
                seconds, edge_cpu = time.perf_counter() - started, time.process_time() - edge_cpu
                with engine.connect() as connection:
                    loaded = connection.execute(text("SELECT count(*) FROM patient")).scalar()
                print(
                    f"initial load of vehicle {vehicle}: {loaded} patients, {result.pulled} rows "
                    f"in {result.exchanges} exchanges, {seconds:.1f} s "
                    f"({result.pulled / seconds:.0f} rows/s); edge CPU {edge_cpu:.1f} s"
                )
                engine.dispose()
            finally:
                process.terminate()
                process.wait(timeout=10)
            hub_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            print(
                f"hub process CPU (with its migrate): {hub_cpu.ru_utime + hub_cpu.ru_stime:.1f} s"
            )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP DATABASE `{name}`"))
        admin.dispose()


if __name__ == "__main__":
    main()
