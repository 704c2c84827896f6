"""kill -9 of the edge process at random points while the crew writes and while it syncs:
after each restart the SQLCipher file passes SQLite's and SQLCipher's integrity checks,
every synced row's current version has its change-log entry, and every write the crew
saw acknowledged (an HTTP 2xx) is still there; at the end the hub holds all of it, each
change applied once. Real processes and HTTP: `clinic-edge serve` over SQLCipher, the hub
served on a loopback port over MySQL. `--runs N` multiplies the kill points."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from sqlalchemy import Engine, text

from bench.meter import serving
from common.database import new_session
from edge.sync import service as edge_sync
from hub.sync import device as devices
from tests.conftest import TEST_SECRET
from tests.support.clinic import Clinic, patient_fields
from tests.support.hubprocess import EdgeProcess
from tests.support.identity import make_vehicle
from tests.support.sync import (
    applied_once,
    integrity_problems,
    shared_with_hub,
    table_rows,
    unlogged_rows,
)

KILLS = 4  # every other round kills the edge with a sync in flight
SYNC_NOW = "/api/sync/now"  # a failed sync answers 502: the hub, not the edge


@dataclass
class Crew:
    """Writes the visit workflow over HTTP until stopped; keeps what was acknowledged."""

    base: str
    headers: dict[str, dict[str, str]]
    acknowledged: dict[str, set[str]] = field(
        default_factory=lambda: {"patient": set(), "visit": set(), "vital_sign": set()}
    )
    stop: threading.Event = field(default_factory=threading.Event)
    unexpected: list[str] = field(default_factory=list)

    def post(self, role: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        try:
            response = requests.post(
                self.base + path, json=body, headers=self.headers[role], timeout=10
            )
        except requests.RequestException:
            return None  # the process died under us: not acknowledged
        if response.status_code in (200, 201):
            return response.json()["data"]
        if response.status_code >= 500 and (response.status_code, path) != (502, SYNC_NOW):
            self.unexpected.append(f"{path}: {response.status_code} {response.text}")
        return None

    def work(self) -> None:
        while not self.stop.is_set():
            patient = self.post("clerk", "/api/patients", patient_fields())
            if patient is None:
                continue
            self.acknowledged["patient"].add(patient["id"])
            visit = self.post("clerk", "/api/visits", {"patient_id": patient["id"]})
            if visit is None:
                continue
            self.acknowledged["visit"].add(visit["id"])
            if self.post("clerk", f"/api/visits/{visit['id']}/advance", {}) is None:
                continue
            vital = self.post("nurse", "/api/vital-signs", {"visit_id": visit["id"], "pulse": 77})
            if vital is not None:
                self.acknowledged["vital_sign"].add(vital["id"])


def syncing(crew: Crew) -> None:
    """The crew presses "sync now" over and over (failures are expected mid-kill)."""
    while not crew.stop.is_set():
        crew.post("administrator", SYNC_NOW, {})


def in_flight(engine: Engine) -> bool:
    """Whether the edge died with a sync begun and not ended (neither success nor failure
    recorded after its start)."""
    with engine.connect() as connection:
        link = connection.execute(
            text(
                "SELECT last_attempt_at, last_success_at, last_error_at FROM sync_link "
                "WHERE peer = 'hub'"
            )
        ).first()
    if link is None:
        return False
    ended = [moment for moment in (link.last_success_at, link.last_error_at) if moment]
    return link.last_attempt_at is not None and all(link.last_attempt_at > m for m in ended)


def sync_began(engine: Engine) -> Any:
    """When the edge last began a sync (noted before its first exchange)."""
    with engine.connect() as connection:
        query = text("SELECT last_attempt_at FROM sync_link WHERE peer = 'hub'")
        return connection.execute(query).scalar()


def until_in_flight(engine: Engine) -> None:
    """Wait until the edge is inside a sync (the crew presses "sync now" over and over)."""
    deadline = time.monotonic() + 30
    while not in_flight(engine):
        assert time.monotonic() < deadline, "no sync was ever in flight"
        time.sleep(0.005)


def wait_for_a_sync(engine: Engine, before: Any) -> None:
    deadline = time.monotonic() + 30
    while sync_began(engine) == before:
        assert time.monotonic() < deadline, "the crew's sync never began"
        time.sleep(0.05)


def assert_whole(engine: Engine, crew: Crew) -> None:
    assert integrity_problems(engine) == []
    assert unlogged_rows(engine) == {}
    for table, ids in crew.acknowledged.items():
        held = {row["id"] for row in table_rows(engine, table)}
        assert ids <= held, f"acknowledged {table} rows lost: {ids - held}"


def test_an_edge_killed_while_writing_and_syncing_loses_nothing_acknowledged(
    clinic: Clinic,
    hub_app: Flask,
    hub_engine: Engine,
    edge_db: Path,
    edge_key: bytes,
    tmp_path: Path,
    runs: int,
) -> None:
    rng = random.Random(20261201 + runs)
    clinic.hire()
    secrets_dir = tmp_path / "edge-secrets"
    make_vehicle(hub_engine, clinic.vehicle_id, "Clinic Killed")
    shared_with_hub(clinic.engine, hub_engine)  # its formulary came from head office
    with new_session(hub_engine) as session, session.begin():
        token = devices.issue_token(session, clinic.vehicle_id, None).token
    with serving(hub_app) as hub_base:
        edge_sync.enroll(clinic.engine, secrets_dir, hub_base, token)
        edge = EdgeProcess(edge_db, edge_key, TEST_SECRET, secrets_dir)
        headers = {role: staff.headers for role, staff in clinic.crew.items()}
        crew = Crew(edge.base, headers)
        landed_mid_sync = 0
        try:
            for round_ in range(KILLS * runs):
                edge.start()
                crew.stop.clear()
                threads = [threading.Thread(target=crew.work)]
                if round_ % 2:  # every other round the crew syncs while writing
                    threads.append(threading.Thread(target=syncing, args=(crew,)))
                began = sync_began(clinic.engine)
                for thread in threads:
                    thread.start()
                if round_ % 2:
                    wait_for_a_sync(clinic.engine, began)
                    time.sleep(rng.uniform(0, 1.0))  # somewhere inside a sync ...
                    until_in_flight(clinic.engine)  # ... one that has not ended
                else:
                    time.sleep(rng.uniform(0.3, 2.5))
                edge.kill()
                landed = in_flight(clinic.engine)
                crew.stop.set()
                for thread in threads:
                    thread.join(timeout=30)
                landed_mid_sync += bool(round_ % 2 and landed)
                assert_whole(clinic.engine, crew)
            # the kill follows the sight of a sync in flight at once; a sync that ended in
            # between (a few ms) would leave that round without a mid-sync kill
            assert landed_mid_sync >= 1, "no kill landed during a sync"
            edge.start()
            synced = crew.post("administrator", SYNC_NOW, {})
            assert synced is not None and synced["status"]["synced"], str(synced["status"])
        finally:
            edge.stop()
    assert sum(len(ids) for ids in crew.acknowledged.values()) > 0, "the crew never wrote"
    for table in ("patient", "visit", "vital_sign"):
        at_hub = {row["id"] for row in table_rows(hub_engine, table)}
        assert crew.acknowledged[table] <= at_hub, table
    assert crew.unexpected == []
    node = edge_sync.enrollment(secrets_dir).device_id
    applied_once(hub_engine, node)
