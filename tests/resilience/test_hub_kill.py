"""Invariant 14: a hub process killed (SIGKILL) at random points while it applies a
vehicle's batches (after any number of them, or in the middle of one) is restarted, and
the retried batches are applied exactly once. Run twice: applying each push inline, and
as an overloaded hub that stores every push and drains it in the background, where a
kill also lands between "stored" and "applied". Real processes: `clinic-hub serve` on
MySQL, the edge's sync client on SQLCipher, real HTTP between them. `--runs N`
multiplies the kill points."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from common.database import new_session
from edge.sync import service as edge_sync
from hub.sync import device as devices
from tests.support import rows
from tests.support.convergence import assert_replica
from tests.support.hubprocess import HubProcess
from tests.support.identity import make_vehicle
from tests.support.sync import applied_once, count, unlogged_rows
from tests.sync.test_protocol import visit

PATIENTS = 600  # per round: a few batches of a busy day
KILLS = 2
STORE_ALL = "0"  # apply slots: an overloaded hub
QUEUED = "SELECT count(*) FROM sync_inbox WHERE applied_at IS NULL"


def work(engine: Engine, vehicle: str, round_: int) -> None:
    with new_session(engine) as session, session.begin():
        for i in range(PATIENTS):
            visit(session, rows.patient(session, first_name=f"K{round_}-{i}"), vehicle)


def kill_mid_sync(
    hub: HubProcess, hub_engine: Engine, sync: threading.Thread, delay: float
) -> None:
    """Start the sync, wait for the hub to apply its first batch of the round, then kill
    the hub `delay` seconds later (or when the sync has finished, whichever is first)."""
    before = count(hub_engine, "SELECT count(*) FROM sync_batch")
    sync.start()
    deadline = time.monotonic() + 60
    while count(hub_engine, "SELECT count(*) FROM sync_batch") == before and sync.is_alive():
        assert time.monotonic() < deadline, "the hub never applied a batch"
        time.sleep(0.01)
    sync.join(timeout=delay)
    hub.kill()
    sync.join(timeout=120)


def drained(hub_engine: Engine) -> None:
    """Wait for the hub's drain to apply every stored batch."""
    deadline = time.monotonic() + 60
    while count(hub_engine, QUEUED):
        assert time.monotonic() < deadline, "the hub left stored batches unapplied"
        time.sleep(0.05)


@pytest.mark.parametrize("slots", ["1", STORE_ALL], ids=["inline", "stored"])
def test_a_hub_killed_at_random_points_applies_each_batch_once(
    hub_database_url: str,
    hub_engine: Engine,
    edge_engine: Engine,
    tmp_path: Path,
    runs: int,
    slots: str,
) -> None:
    rng = random.Random(14 + runs)
    hub = HubProcess(hub_database_url, tmp_path, HUB_SYNC_APPLY_SLOTS=slots)
    hub.start()
    rounds = KILLS * runs
    try:
        vehicle = make_vehicle(hub_engine)
        with new_session(hub_engine) as session, session.begin():
            token = devices.issue_token(session, vehicle, None).token
        config = {"SECRETS_DIR": str(tmp_path / "edge-secrets")}
        edge_sync.enroll(edge_engine, Path(config["SECRETS_DIR"]), hub.base, token)
        edge_sync.run(edge_engine, config)
        failures = left_stored = 0
        for round_ in range(rounds):
            work(edge_engine, vehicle, round_)
            failed: list[BaseException] = []

            def sync(failed: list[BaseException] = failed) -> None:
                try:
                    edge_sync.run(edge_engine, config)
                except BaseException as error:  # noqa: BLE001 - the thread reports it
                    failed.append(error)

            delay = rng.uniform(0, 1.5) if round_ else 0  # the first right after a batch
            kill_mid_sync(hub, hub_engine, threading.Thread(target=sync), delay)
            failures += bool(failed)
            left_stored += count(hub_engine, QUEUED)
            hub.start()
        if slots == STORE_ALL:  # the pushes are quick: the kills land in the drain
            assert left_stored, "no kill left stored batches unapplied"
        else:
            assert failures, "no kill landed inside a sync"
        drained(hub_engine)
        edge_sync.run(edge_engine, config)
        drained(hub_engine)
    finally:
        hub.stop()
    assert count(hub_engine, "SELECT count(*) FROM patient") == PATIENTS * rounds
    node = edge_sync.enrollment(Path(config["SECRETS_DIR"])).device_id
    assert_replica(edge_engine, "the edge", vehicle, node, hub_engine)  # every table
    applied_once(hub_engine, node)
    applied = count(hub_engine, "SELECT sum(change_count) FROM sync_batch")
    assert applied == 2 * PATIENTS * rounds  # every change in exactly one applied batch
    assert unlogged_rows(hub_engine) == {}
    assert edge_sync.status(edge_engine, {**config, "CLOCK_DRIFT_WARNING_SECONDS": 120})["synced"]
