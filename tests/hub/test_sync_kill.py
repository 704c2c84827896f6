"""Invariant 14: a hub process killed (SIGKILL) while it applies a vehicle's batches is
restarted, and the retried batches are applied exactly once. Real processes: `clinic-hub
serve` on MySQL, the edge's sync client on SQLCipher, real HTTP between them."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine

from common.database import new_session
from edge.sync import service as edge_sync
from hub.sync import device as devices
from tests.support import rows
from tests.support.hubprocess import HubProcess
from tests.support.identity import make_vehicle
from tests.support.sync import count, table_rows
from tests.sync.test_protocol import visit

PATIENTS = 1200


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
