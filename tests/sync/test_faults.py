"""Invariant 15: across real HTTP, through a proxy that cuts requests, loses replies,
delivers requests twice and delays answers, a vehicle's work and head office's updates
all arrive once; afterwards hub and edge agree row for row. `SYNC_FAULT_ROUNDS` sets
how many rounds of work and faulty syncs run (120 by default)."""

from __future__ import annotations

import os
import random
from decimal import Decimal
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select

from bench.meter import serving
from common.database import new_session
from edge.sync import service as edge_sync
from hub.sync import device as devices
from schema.base import utcnow
from schema.models import Visit, VitalSign
from sync.transport import EXCHANGE_PATH, SyncError
from tests.support import rows
from tests.support.faultproxy import FAULTS, fault_proxy
from tests.support.identity import make_vehicle
from tests.support.sync import table_rows
from tests.sync.test_protocol import visit

ROUNDS = int(os.environ.get("SYNC_FAULT_ROUNDS", "120"))


def work(engine: Engine, vehicle_id: str, rng: random.Random) -> None:
    with new_session(engine) as session, session.begin():
        if rng.random() < 0.5:
            visit(session, rows.patient(session, first_name=f"F{rng.random()}"), vehicle_id)
        visits = session.scalars(select(Visit).order_by(Visit.id)).all()
        if visits:
            chosen = rng.choice(visits)
            session.add(
                VitalSign(
                    visit_id=chosen.id,
                    patient_id=chosen.patient_id,
                    vehicle_id=vehicle_id,
                    recorded_by="nurse",
                    recorded_at=utcnow(),
                    pulse=rng.randint(50, 120),
                    temperature=Decimal("37.0"),
                )
            )


def test_sync_survives_a_faulty_link(
    hub_app: Flask, hub_engine: Engine, edge_engine: Engine, tmp_path: Path
) -> None:
    rng = random.Random(20261201)
    vehicle = make_vehicle(hub_engine, name="Clinic Faulty")
    with new_session(hub_engine) as session, session.begin():
        token = devices.issue_token(session, vehicle, None).token
    config = {"SECRETS_DIR": str(tmp_path / "secrets")}
    with serving(hub_app) as base:
        edge_sync.enroll(edge_engine, Path(config["SECRETS_DIR"]), base, token)
        edge_sync.run(edge_engine, config)  # the first sync brings the vehicle, as enroll does
        with fault_proxy(base, lambda: rng.choice(FAULTS)) as proxy:
            client = edge_sync.client(edge_engine, config)
            client.transport.url = f"http://127.0.0.1:{proxy.port}{EXCHANGE_PATH}"  # type: ignore[attr-defined]
            failures = 0
            for round_ in range(ROUNDS):
                work(edge_engine, vehicle, rng)
                if round_ % 10 == 0:
                    with new_session(hub_engine) as session, session.begin():
                        rows.province(session, code=f"R{round_}")
                try:
                    client.run()
                except SyncError:
                    failures += 1
            assert failures > ROUNDS // 10  # the faults really happened
            assert all(proxy.seen[fault] for fault in FAULTS)
        client.transport.url = base + EXCHANGE_PATH  # type: ignore[attr-defined]
        client.run()
    for table in ("patient", "visit", "vital_sign", "province"):
        assert table_rows(edge_engine, table) == table_rows(hub_engine, table), table
    assert edge_sync.status(edge_engine, {**config, "CLOCK_DRIFT_WARNING_SECONDS": 120})["synced"]
