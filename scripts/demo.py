"""Start a local hub, the PALMED sandbox and one edge node with demo data; print the
URLs and a login.

Run through scripts/demo.sh, which prepares the virtualenv. Everything lives under
var/demo; the demo password and the sandbox's keys are generated on first run and kept in
owner-only files. The sandbox serves the demo roster (palmed/data/demo_roster.csv) and
the hub's scheduler (`clinic-hub scheduler`, every background job) sends claims to it
every few seconds.
Ctrl+C stops every process.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess  # nosec B404 - fixed system commands only, never a shell
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("DEMO_DIR", ROOT / "var" / "demo"))
HUB_PORT = int(os.environ.get("DEMO_HUB_PORT", "5100"))
EDGE_PORT = int(os.environ.get("DEMO_EDGE_PORT", "5000"))
PALMED_PORT = int(os.environ.get("DEMO_PALMED_PORT", "5200"))
ADMIN = "admin"
DEMO_VEHICLE_ID = "0190d1a0-0000-7000-8000-00000000de00"
DEMO_VEHICLE = "Demo Clinic 1"

ENV = {
    **os.environ,
    "HUB_DATA_DIR": str(VAR / "hub"),
    "HUB_SECRETS_DIR": str(VAR / "secrets" / "hub"),
    "EDGE_DATA_DIR": str(VAR / "edge"),
    "EDGE_SECRETS_DIR": str(VAR / "secrets" / "edge"),
    "EDGE_HUB_URL": f"http://127.0.0.1:{HUB_PORT}",
    # Served over plain HTTP on localhost for the demo; the vehicle uses HTTPS.
    "EDGE_COOKIE_SECURE": "false",
    "HUB_COOKIE_SECURE": "false",
    "PALMED_API_URL": f"http://127.0.0.1:{PALMED_PORT}",
    "PALMED_SANDBOX_DB": str(VAR / "palmed" / "sandbox.db"),
    "HUB_CLAIMS_EVERY_SECONDS": "10",
    "HUB_MEMBERS_EVERY_SECONDS": "60",
    "EDGE_SYNC_INTERVAL_SECONDS": "15",
}


def run(
    *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # nosec B603 - fixed commands of this project
        args, env=ENV, input=stdin, text=True, capture_output=True, check=check, cwd=ROOT
    )


def step(message: str) -> None:
    print(f"  - {message}", flush=True)


def demo_secret(name: str, prefix: str, size: int = 9) -> str:
    """A secret made on first run and kept in an owner-only file under var/demo/secrets."""
    path = VAR / "secrets" / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    secret = prefix + secrets.token_urlsafe(size)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


def demo_password() -> str:
    return demo_secret("demo-login", "demo-")


def palmed_keys() -> None:
    """The sandbox's scheme and admin keys, shared with the hub through the environment."""
    ENV["PALMED_API_KEY"] = demo_secret("palmed-api-key", "palmed-", 24)
    ENV["PALMED_ADMIN_KEY"] = demo_secret("palmed-admin-key", "palmed-admin-", 24)


def ensure_admin(cli: str, password: str) -> None:
    result = run(
        cli,
        "create-admin",
        "--username",
        ADMIN,
        "--full-name",
        "Demo Administrator",
        "--password-stdin",
        stdin=password + "\n",
        check=False,
    )
    if result.returncode != 0 and "already exists" not in result.stderr + result.stdout:
        sys.exit(f"{cli} create-admin failed:\n{result.stdout}{result.stderr}")


def set_up(password: str) -> None:
    print("Setting up the demo in", VAR)
    step("hub database: " + run("clinic-hub", "migrate").stdout.strip().splitlines()[-1])
    ensure_admin("clinic-hub", password)
    ensure_demo_vehicle()
    step(f"vehicle {DEMO_VEHICLE!r} at head office, {ADMIN} assigned to it")
    step("edge node: " + run("clinic-edge", "init").stdout.strip().splitlines()[-1])


def ensure_demo_vehicle() -> None:
    """The demo vehicle at the hub with the administrator assigned to it: enrollment and
    sync then bring both to the edge, as on a real vehicle."""
    from common.database import new_session
    from common.users import assign_vehicle, find_by_username
    from hub import cli as hub_cli
    from hub import config as hub_config
    from schema.models import Vehicle

    engine = hub_cli.open_engine(hub_config.from_env(ENV))
    with new_session(engine) as session, session.begin():
        vehicle = session.get(Vehicle, DEMO_VEHICLE_ID) or Vehicle(
            id=DEMO_VEHICLE_ID,
            name=DEMO_VEHICLE,
            registration_plate="DEMO001GP",
            practice_number="0000001",
            status="active",
        )
        session.add(vehicle)
        session.flush()
        admin = find_by_username(session, ADMIN)
        if admin is not None:
            assign_vehicle(session, admin, vehicle.id)
    engine.dispose()


def enroll_edge(hub_url: str) -> None:
    """Enroll the edge with a one-time token from the hub, once; the enrollment's first
    sync brings the vehicle and its users."""
    if (VAR / "secrets" / "edge" / "enrollment.json").exists():
        step("edge already enrolled: " + run("clinic-edge", "sync").stdout.strip())
        return
    token = run("clinic-hub", "enroll-token", DEMO_VEHICLE).stdout.strip().splitlines()[-1]
    result = run("clinic-edge", "enroll", "--hub", hub_url, "--token", token, check=False)
    if result.returncode != 0:
        sys.exit(f"clinic-edge enroll failed:\n{result.stdout}{result.stderr}")
    for line in result.stdout.strip().splitlines():
        step(line)


DEMO_PATIENTS = (  # members of the sandbox's demo roster, so their claims are accepted
    ("Sipho", "Dlamini", "1979-04-12", "M", "110234561", "00"),
    ("Nomsa", "Dlamini", "1982-09-30", "F", "110234561", "01"),
    ("Thabo", "Dlamini", "2011-01-17", "M", "110234561", "02"),
)


def seed_patients() -> None:
    """A few patients registered on the vehicle (once); the hub verifies their
    membership with PALMED after the next sync."""
    import datetime as dt

    from sqlalchemy import func, select

    from common.database import new_session
    from edge import cli as edge_cli
    from edge import config as edge_config
    from schema.base import utcnow
    from schema.models import Patient

    engine = edge_cli.open_engine(edge_config.from_env(ENV))
    with new_session(engine) as session, session.begin():
        if session.scalar(select(func.count()).select_from(Patient)):
            return
        for first, last, born, sex, member, dependant in DEMO_PATIENTS:
            session.add(
                Patient(
                    first_name=first,
                    last_name=last,
                    date_of_birth=dt.date.fromisoformat(born),
                    sex=sex,
                    medical_aid_number=member,
                    dependant_code=dependant,
                    registered_vehicle_id=DEMO_VEHICLE_ID,
                    allergies=[],
                    chronic_conditions=[],
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
    engine.dispose()
    step(f"{len(DEMO_PATIENTS)} demo patients registered on the vehicle")


def start(name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
    log = (VAR / f"{name}.log").open("ab")
    return subprocess.Popen(  # noqa: S603  # nosec B603 - fixed commands of this project
        args, env={**ENV, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )


def wait_healthy(
    name: str, url: str, process: subprocess.Popen[bytes], path: str = "/api/health"
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{name} stopped at start-up; see {VAR / (name + '.log')}")
        try:
            with urllib.request.urlopen(url + path, timeout=2) as response:  # noqa: S310  # nosec B310 - a fixed http://127.0.0.1 URL
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    sys.exit(f"{name} did not answer at {url} within 30 s; see {VAR / (name + '.log')}")


def main() -> None:
    VAR.mkdir(parents=True, exist_ok=True)
    password = demo_password()
    palmed_keys()
    set_up(password)
    hub_url, edge_url = f"http://127.0.0.1:{HUB_PORT}", f"http://127.0.0.1:{EDGE_PORT}"
    palmed_url = ENV["PALMED_API_URL"]
    processes = {
        # PALMED's "today" is its host's date: make it the clinic day the edge dates visits by.
        "palmed": start(
            "palmed",
            "palmed-sandbox",
            "serve",
            "--demo",
            "--port",
            str(PALMED_PORT),
            TZ="Africa/Johannesburg",
        ),
        "hub": start("hub", "clinic-hub", "serve", "--port", str(HUB_PORT)),
    }
    try:
        wait_healthy("palmed", palmed_url, processes["palmed"], "/health")
        processes["hub-jobs"] = start("hub-jobs", "clinic-hub", "scheduler")
        wait_healthy("hub", hub_url, processes["hub"])
        enroll_edge(hub_url)
        seed_patients()
        processes["edge"] = start("edge", "clinic-edge", "serve", "--port", str(EDGE_PORT))
        processes["edge-sync"] = start("edge-sync", "clinic-edge", "scheduler")
        wait_healthy("edge", edge_url, processes["edge"])
        print()
        print("Mobile Clinic demo is running:")
        print(f"  Head office (hub):   {hub_url}/")
        print(f"  Vehicle (edge node): {edge_url}/  (syncs with the hub every 15 s)")
        print(f"  PALMED sandbox:      {palmed_url}/health (demo roster; claims sent every 10 s)")
        print(f"  Login:               {ADMIN} / {password}")
        print(f"  Logs:                {VAR}/*.log")
        print("Press Ctrl+C to stop.", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(p.poll() is None for p in processes.values()):
            time.sleep(1)
        stopped = [name for name, p in processes.items() if p.poll() is not None]
        sys.exit(f"{', '.join(stopped)} stopped unexpectedly; see the logs in {VAR}")
    except KeyboardInterrupt:
        print("\nStopping ...")
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
