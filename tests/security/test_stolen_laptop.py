"""A stolen laptop gives away nothing: no patient data in plaintext anywhere on its disk,
no usable database key, and after `clinic-hub revoke` its device key syncs no more.

The edge is set up as a technician would (a database key wrapped under an unlock secret,
enrolled at a real hub over HTTP), the crew registers patients with planted canaries (a
distinctive name, an SA ID number), opens visits, records vitals, searches and syncs,
with the app's logs written into its log directory. Then every file under the test's
directories (database, WAL and SHM while the app is live, secrets, logs, temp files) is
searched for the canaries in the encodings a leak would take.
"""

from __future__ import annotations

import base64
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from flask import Flask
from sqlalchemy import Engine

from bench.meter import serving
from common.database import sqlcipher_engine
from edge.sync import service as edge_sync
from provisioning import key as keys
from provisioning.errors import WrongSecret
from sync.transport import HubRefused
from tests.conftest import edge_config, migrated_edge_file
from tests.hub.test_sync_api import token_for
from tests.support.clinic import patient_fields, sa_id
from tests.support.identity import make_staff, make_vehicle
from tests.support.sync import count

CANARY_NAME = "Qhawekazi"
CANARY_SURNAME = "Canarybird"
UNLOCK_SECRET = "field-tech unlock phrase 4417"


def encodings(canary: str) -> dict[str, bytes]:
    """The canary as a leak could spell it; base64 at each of the three alignments."""
    raw = canary.encode()
    spelled = {
        "utf-8": raw,
        "utf-16-le": canary.encode("utf-16-le"),
        "utf-16-be": canary.encode("utf-16-be"),
        "utf-32-le": canary.encode("utf-32-le"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
    }
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        spelled[f"base64+{shift}"] = encoded[4 : len(encoded) - 4]  # the canary's own chars
    return spelled


def findings(root: Path, canaries: list[str]) -> list[str]:
    """Every (file, canary, encoding) found under `root`, case-insensitively for text."""
    needles = [(c, name, value) for c in canaries for name, value in encodings(c).items()]
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        lowered = data.lower()
        for canary, name, value in needles:
            hit = value in data if name.startswith(("base64", "HEX")) else value.lower() in lowered
            if hit:
                found.append(f"{path.relative_to(root)}: {canary} as {name}")
    return found


@pytest.fixture
def app_logs(tmp_path: Path) -> Iterator[Path]:
    """The app's log records, as a service would keep them, in the laptop's log directory
    (SQLAlchemy's statement log stays off, as in production)."""
    log_file = tmp_path / "laptop" / "logs" / "edge.log"
    log_file.parent.mkdir(parents=True)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    yield log_file
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()


@pytest.fixture
def laptop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_engine: Engine, app_logs: Path
) -> dict[str, Any]:
    """A provisioned laptop: its database key exists on disk only wrapped."""
    home = tmp_path / "laptop"
    temp = home / "tmp"
    temp.mkdir()
    for variable in ("TMPDIR", "SQLITE_TMPDIR"):
        monkeypatch.setenv(variable, str(temp))
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    key = keys.new_key()
    wrapped = home / "secrets" / "db.key.wrapped"
    wrapped.parent.mkdir()
    wrapped.write_text(keys.wrap(key, UNLOCK_SECRET))
    (home / "data").mkdir()
    database = migrated_edge_file(home / "data" / "edge.db", key, node_id="dstolen000001")
    config = edge_config(
        database,
        key,
        DB_KEY=None,
        WRAPPED_KEY_FILE=str(wrapped),
        UNLOCK_SECRET=UNLOCK_SECRET,
        SECRETS_DIR=str(home / "secrets"),
        CLOCK_DRIFT_WARNING_SECONDS=120,
        SYNC_INTERVAL_SECONDS=60,
    )
    return {"home": home, "key": key, "database": database, "config": config}


def crew_day(app: Flask, engine: Engine, vehicle: str, id_number: str) -> None:
    clerk = make_staff(app, engine, "clerk", vehicle_ids=[vehicle])
    nurse = make_staff(app, engine, "nurse", vehicle_ids=[vehicle])
    client = app.test_client()
    fields = patient_fields(first_name=CANARY_NAME, last_name=CANARY_SURNAME, id_number=id_number)
    patient = client.post("/api/patients", json=fields, headers=clerk.headers)
    assert patient.status_code == 201, patient.get_json()
    patient_id = patient.get_json()["data"]["id"]
    edit = {"address": f"12 {CANARY_SURNAME} Street"}
    assert client.put(f"/api/patients/{patient_id}", json=edit, headers=clerk.headers).status_code
    visit = client.post("/api/visits", json={"patient_id": patient_id}, headers=clerk.headers)
    visit_id = visit.get_json()["data"]["id"]
    assert client.post(f"/api/visits/{visit_id}/advance", headers=clerk.headers).status_code == 200
    vitals = {"visit_id": visit_id, "pulse": 190, "systolic": 200, "diastolic": 120}
    assert client.post("/api/vital-signs", json=vitals, headers=nurse.headers).status_code == 201
    searched = client.get(f"/api/patients?q={CANARY_SURNAME}", headers=clerk.headers)
    assert CANARY_NAME in searched.get_data(as_text=True)
    assert client.get("/patients", headers=clerk.headers).status_code == 200
    bad = client.post("/api/patients", json={**fields, "sex": "?"}, headers=clerk.headers)
    assert bad.status_code == 400  # a refused write with the canaries in it is logged too


def test_the_scan_finds_canaries_where_they_are(tmp_path: Path) -> None:
    """The control: each encoding is found, and in a plain SQLite file."""
    for name, spelled in encodings(CANARY_SURNAME).items():
        (tmp_path / name).write_bytes(b"prefix " + spelled + b" suffix")
    with closing(sqlite3.connect(tmp_path / "plain.db")) as plain:
        plain.execute("CREATE TABLE t (v TEXT)")
        plain.execute("INSERT INTO t VALUES (?)", (f"{CANARY_NAME} {CANARY_SURNAME}",))
        plain.commit()
    found = findings(tmp_path, [CANARY_SURNAME])
    assert {hit.split(":")[0] for hit in found} == {*encodings(CANARY_SURNAME), "plain.db"}
    assert "plain.db: Canarybird as utf-8" in found


def test_a_stolen_laptop_gives_away_nothing(
    laptop: dict[str, Any],
    hub_app: Flask,
    hub_engine: Engine,
    hub_database_url: str,
    app_logs: Path,
    tmp_path: Path,
) -> None:
    from edge import create_app

    id_number = sa_id()
    vehicle = make_vehicle(hub_engine, name="Stolen clinic")
    config = laptop["config"]
    app = create_app(config)
    engine = sqlcipher_engine(laptop["database"], laptop["key"])
    with serving(hub_app) as base:
        device = edge_sync.enroll(
            engine, Path(config["SECRETS_DIR"]), base, token_for(hub_engine, vehicle)
        )
        edge_sync.run(engine, config)  # as `clinic-edge enroll` does: brings the vehicle
        crew_day(app, engine, vehicle, id_number)
        assert edge_sync.run(engine, config).pushed > 0
        logging.getLogger("edge").info("synced")  # the log file is live and written
        canaries = [CANARY_NAME, CANARY_SURNAME, id_number]
        live = findings(tmp_path, canaries)  # while the app runs: WAL and SHM on disk
        assert list(laptop["database"].parent.glob("*-wal")), "the scan must see the WAL"

        revoked = subprocess.run(
            ["clinic-hub", "revoke", device.device_id],
            env={**os.environ, "HUB_DATABASE_URL": hub_database_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert revoked.returncode == 0, revoked.stderr
        with pytest.raises(HubRefused, match="revoked"):
            edge_sync.run(engine, config)
    assert count(hub_engine, "SELECT count(*) FROM patient WHERE id_number = :n", n=id_number)
    assert app_logs.stat().st_size > 0
    engine.dispose()
    with app.app_context():
        from common.database import db

        db.engine.dispose()
    assert live == []
    assert findings(tmp_path, canaries) == []
    assert_key_not_on_disk(laptop, tmp_path)


def assert_key_not_on_disk(laptop: dict[str, Any], root: Path) -> None:
    """Only the wrapped key is on disk: the raw key in no spelling, the database opens
    with nothing found there, and the wrapped key opens only with the unlock secret."""
    key: bytes = laptop["key"]
    spellings = [key, key.hex().encode(), key.hex().upper().encode(), base64.b64encode(key)]
    for path in (p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        assert not any(s in data for s in spellings), f"the raw key is in {path}"
    database: Path = laptop["database"]
    wrapped = Path(laptop["config"]["WRAPPED_KEY_FILE"]).read_text()
    for guess in (b"", wrapped.encode()[:32], keys.fingerprint(key).encode()):
        assert not keys.opens(database, guess.ljust(32, b"\0")[:32])
    with closing(sqlite3.connect(database)) as plain, pytest.raises(sqlite3.DatabaseError):
        plain.execute("SELECT count(*) FROM sqlite_master").fetchone()
    with closing(sqlcipher3.connect(str(database))) as keyless:
        with pytest.raises(sqlcipher3.DatabaseError):
            keyless.execute("SELECT count(*) FROM sqlite_master").fetchone()
    with pytest.raises(WrongSecret):
        keys.unwrap(wrapped, "a guess at the secret")
    assert keys.opens(database, keys.unwrap(wrapped, UNLOCK_SECRET))  # the control
