"""Real `clinic-hub serve` and `clinic-edge serve` processes, for tests that cross the
process boundary (kill them, restart them, talk to them over HTTP), and SQLCipher edges
enrolled with a hub process (`edge_for`). Registered as a pytest plugin: `hub_process` is
a started hub on the test's clean database, stopped after the test."""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import Engine, text

from common import auditseal
from common.database import new_session, sqlcipher_engine
from common.files import write_new
from edge.sync import service as edge_sync
from hub.sync import device as devices
from tests.support.identity import PASSWORD, make_vehicle


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppProcess:
    """One of our console scripts serving on a free loopback port with `env`."""

    def __init__(self, command: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.bin = Path(sys.executable).parent
        self.command = command
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [str(self.bin / self.command), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/api/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"the {self.command} process did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate the process if it still runs (for a test's `finally`)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


class HubProcess(AppProcess):
    """`clinic-hub serve` on `url`; `extra`: more of its environment variables."""

    def __init__(self, url: str, tmp_path: Path, **extra: str) -> None:
        env = {
            "HUB_DATABASE_URL": url,
            "HUB_DATA_DIR": str(tmp_path / "hub"),
            "HUB_SECRETS_DIR": str(tmp_path / "hub-secrets"),
            **extra,
        }
        super().__init__("clinic-hub", env)
        write_audit_key(Path(env["HUB_SECRETS_DIR"]))
        subprocess.run(  # noqa: S603 - our own command: makes the key files
            [str(self.bin / "clinic-hub"), "migrate"],
            env=self.env,
            check=True,
            capture_output=True,
        )


class EdgeProcess(AppProcess):
    """`clinic-edge serve` over an existing SQLCipher file, opened with a raw key."""

    def __init__(self, db_path: Path, key: bytes, secret_key: str, secrets_dir: Path) -> None:
        env = {
            "EDGE_DATA_DIR": str(db_path.parent),
            "EDGE_DATABASE_PATH": str(db_path),
            "EDGE_DB_KEY": key.hex(),
            "EDGE_SECRET_KEY": secret_key,
            "EDGE_SECRETS_DIR": str(secrets_dir),
            "EDGE_COOKIE_SECURE": "0",
        }
        super().__init__("clinic-edge", env)
        write_audit_key(secrets_dir)


def audit_key_file() -> Path:
    """The tests' audit key in a file of this test process (removed at its exit), for a
    hub command run as a process of its own: `HUB_AUDIT_KEY_FILE`."""
    if not _KEY_FILES:
        folder = Path(tempfile.mkdtemp(prefix="clinic-tests-"))  # 0700
        write_audit_key(folder)
        atexit.register(shutil.rmtree, folder, True)
        _KEY_FILES.append(auditseal.key_file({"SECRETS_DIR": str(folder)}))
    return _KEY_FILES[0]


_KEY_FILES: list[Path] = []


def write_audit_key(secrets_dir: Path) -> None:
    """The tests' audit key, as the served process's own (its `migrate` makes none
    then), so the test can verify what the process wrote."""
    from tests.conftest import TEST_AUDIT_KEY

    path = auditseal.key_file({"SECRETS_DIR": str(secrets_dir)})
    if not path.exists():
        write_new(path, (TEST_AUDIT_KEY.text() + "\n").encode())


@pytest.fixture
def hub_process(hub_database_url: str, hub_engine: Engine, tmp_path: Path) -> Iterator[HubProcess]:
    """A running `clinic-hub serve` on this test's (emptied) hub database."""
    hub = HubProcess(hub_database_url, tmp_path)
    hub.start()
    yield hub
    hub.stop()


def head_office(hub: HubProcess, username: str = "head.admin") -> dict[str, str]:
    """Bearer headers for an existing head-office user, logged in over HTTP."""
    login = requests.post(
        hub.base + "/api/auth/login",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 200, login.json()
    return {"Authorization": f"Bearer {login.json()['data']['access_token']}"}


def edge_for(
    name: str,
    hub: HubProcess,
    hub_engine: Engine,
    template: Path,
    key: bytes,
    tmp: Path,
    vehicle: str | None = None,
) -> tuple[Engine, dict[str, str], str]:
    """A vehicle `Clinic <name>` at the hub (or the given one: a second laptop of it) and
    an edge database (a copy of `template`) enrolled with the hub process and synced
    once: its engine, sync config and vehicle id."""
    path = tmp / f"{name}.db"
    shutil.copyfile(template, path)
    engine = sqlcipher_engine(path, key)
    with engine.begin() as connection:
        connection.execute(text("UPDATE sync_node SET id = :n"), {"n": f"d00000000e2e{name}"})
    vehicle = vehicle or make_vehicle(hub_engine, name=f"Clinic {name}")
    with new_session(hub_engine) as session, session.begin():
        token = devices.issue_token(session, vehicle, None).token
    config = {"SECRETS_DIR": str(tmp / f"secrets-{name}")}
    edge_sync.enroll(engine, Path(config["SECRETS_DIR"]), hub.base, token)
    edge_sync.run(engine, config)
    return engine, config, vehicle
