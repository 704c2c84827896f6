"""Invariant 14: a hub process killed (SIGKILL) while it applies a vehicle's batches is
restarted, and the retried batches are applied exactly once. Real processes: `clinic-hub
serve` on MySQL, the edge's sync client on SQLCipher, real HTTP between them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from sqlalchemy import Engine

from common.database import new_session
from edge.sync import service as edge_sync
from hub.sync import device as devices
from tests.support import rows
from tests.support.identity import make_vehicle
from tests.support.sync import count, table_rows
from tests.sync.test_protocol import visit

PATIENTS = 1200


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HubProcess:
    def __init__(self, url: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HUB_DATABASE_URL": url,
            "HUB_DATA_DIR": str(tmp_path / "hub"),
            "HUB_SECRETS_DIR": str(tmp_path / "hub-secrets"),
        }
        self.bin = Path(sys.executable).parent
        subprocess.run(  # noqa: S603 - our own command: makes the key files
            [str(self.bin / "clinic-hub"), "migrate"],
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [str(self.bin / "clinic-hub"), "serve", "--port", str(self.port)],
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
        raise AssertionError("the hub process did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def test_a_hub_killed_during_apply_applies_the_retried_batch_once(
    hub_database_url: str, hub_engine: Engine, edge_engine: Engine, tmp_path: Path
) -> None:
    hub = HubProcess(hub_database_url, tmp_path)
    hub.start()
    try:
        vehicle = make_vehicle(hub_engine)
        with new_session(hub_engine) as session, session.begin():
            token = devices.issue_token(session, vehicle, None).token
        config = {"SECRETS_DIR": str(tmp_path / "edge-secrets")}
        edge_sync.enroll(edge_engine, Path(config["SECRETS_DIR"]), hub.base, token)
        edge_sync.run(edge_engine, config)
        with new_session(edge_engine) as session, session.begin():
            for i in range(PATIENTS):
                visit(session, rows.patient(session, first_name=f"K{i}"), vehicle)
        failure: list[BaseException] = []

        def sync() -> None:
            try:
                edge_sync.run(edge_engine, config)
            except BaseException as error:  # noqa: BLE001 - the thread reports what happened
                failure.append(error)

        worker = threading.Thread(target=sync)
        worker.start()
        deadline = time.monotonic() + 30
        while count(hub_engine, "SELECT count(*) FROM sync_batch") < 2:
            assert time.monotonic() < deadline, "the hub never applied a batch"
            time.sleep(0.01)
        hub.kill()  # mid-way through the day's batches
        worker.join(timeout=120)
        assert failure, "the sync should have failed when the hub died"
        hub.start()
        edge_sync.run(edge_engine, config)
    finally:
        if hub.process is not None and hub.process.poll() is None:
            hub.process.terminate()
            hub.process.wait(timeout=10)
    assert count(hub_engine, "SELECT count(*) FROM patient") == PATIENTS
    assert table_rows(hub_engine, "visit") == table_rows(edge_engine, "visit")
    applied = count(hub_engine, "SELECT sum(change_count) FROM sync_batch")
    assert applied == 2 * PATIENTS  # every change in exactly one applied batch
    assert edge_sync.status(edge_engine, {**config, "CLOCK_DRIFT_WARNING_SECONDS": 120})["synced"]
