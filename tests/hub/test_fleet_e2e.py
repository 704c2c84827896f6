"""Issue 7's end to end across real processes: a `clinic-hub serve` process on MySQL and
two vehicles' edges (SQLCipher) syncing over HTTP. People and routes made at head office
reach the right vehicle only; visits from both vehicles appear in head office's figures."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import requests
from sqlalchemy import Engine

from common.database import new_session, sqlcipher_engine
from common.users import create_user
from edge.sync import service as edge_sync
from hub.sync import device as devices
from schema.base import utcnow
from schema.models import Route
from tests.support import rows
from tests.support.hubprocess import HubProcess
from tests.support.identity import PASSWORD, make_vehicle
from tests.support.sync import count
from tests.sync.test_protocol import visit


def edge_for(
    name: str, hub: HubProcess, hub_engine: Engine, template: Path, key: bytes, tmp: Path
) -> tuple[Engine, dict[str, str], str]:
    import shutil

    from sqlalchemy import text

    path = tmp / f"{name}.db"
    shutil.copyfile(template, path)
    engine = sqlcipher_engine(path, key)
    with engine.begin() as connection:
        connection.execute(text("UPDATE sync_node SET id = :n"), {"n": f"d00000000e2e{name}"})
    vehicle = make_vehicle(hub_engine, name=f"Clinic {name}")
    with new_session(hub_engine) as session, session.begin():
        token = devices.issue_token(session, vehicle, None).token
    config = {"SECRETS_DIR": str(tmp / f"secrets-{name}")}
    edge_sync.enroll(engine, Path(config["SECRETS_DIR"]), hub.base, token)
    edge_sync.run(engine, config)
    return engine, config, vehicle


def test_head_office_and_two_vehicles(
    hub_database_url: str,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    hub = HubProcess(hub_database_url, tmp_path)
    hub.start()
    engines: list[Engine] = []
    try:
        a, config_a, vehicle_a = edge_for("a", hub, hub_engine, edge_template, edge_key, tmp_path)
        b, config_b, vehicle_b = edge_for("b", hub, hub_engine, edge_template, edge_key, tmp_path)
        engines += [a, b]
        with new_session(hub_engine) as session, session.begin():
            create_user(
                session,
                username="nurse.a",
                full_name="Nurse A",
                role="nurse",
                password=PASSWORD,
                vehicle_ids=[vehicle_a],
            )
            create_user(
                session,
                username="head.admin",
                full_name="Head Admin",
                role="administrator",
                password=PASSWORD,
            )
            session.add(
                Route(
                    vehicle_id=vehicle_b,
                    route_date=dt.date(2026, 12, 3),
                    name="B's Tuesday",
                    created_by="planner",
                    created_at=utcnow(),
                )
            )
        for engine, vehicle in ((a, vehicle_a), (b, vehicle_b)):
            with new_session(engine) as session, session.begin():
                visit(session, rows.patient(session), vehicle)
        edge_sync.run(a, config_a)
        edge_sync.run(b, config_b)
        assert count(a, "SELECT count(*) FROM user WHERE username = 'nurse.a'") == 1
        assert count(b, "SELECT count(*) FROM user WHERE username = 'nurse.a'") == 0
        assert count(a, "SELECT count(*) FROM user WHERE username = 'head.admin'") == 0
        assert count(b, "SELECT count(*) FROM route") == 1
        assert count(a, "SELECT count(*) FROM route") == 0
        login = requests.post(
            hub.base + "/api/auth/login",
            json={"username": "head.admin", "password": PASSWORD},
            timeout=10,
        ).json()["data"]
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        exported = requests.get(hub.base + "/api/sync/visits", headers=headers, timeout=10)
        assert exported.status_code == 200
        vehicles = {v["vehicle_id"] for v in exported.json()["data"]}
        assert vehicles == {vehicle_a, vehicle_b}
    finally:
        for engine in engines:
            engine.dispose()
        hub.stop()
