"""A full disk or a failing write on the edge: the crew gets a clear 503 in the JSON error
envelope and nothing is half-written; once space is back the same write succeeds. A read
of patient data whose audit record cannot be written is refused the same way.
Two ways to fill the disk: SQLite's `max_page_count` capped at the file's size (the
database itself is full), and a real tiny tmpfs holding the SQLCipher file and its WAL."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from common.database import db, sqlcipher_engine
from tests.conftest import edge_config
from tests.support.clinic import Clinic, patient_fields
from tests.support.tables import digest, moved

BIG = "x" * 20000  # a clinical note larger than a page: it needs new pages


Write = tuple[str, str, str, Callable[[], dict[str, Any]]]  # method, role, path, body


def big_writes(clinic: Clinic) -> list[Write]:
    """Workflow writes that need new database pages: registration, an edit, a note."""
    patient = clinic.register()
    visit = clinic.visit_at("doctor_consultation", patient)
    history = {"medical_history": BIG[:5000], "address": BIG[:500]}
    return [
        ("POST", "clerk", "/api/patients", lambda: patient_fields(**history)),
        ("PUT", "clerk", f"/api/patients/{patient['id']}", lambda: history),
        ("POST", "doctor", "/api/clinical-notes", lambda: {"visit_id": visit, "body": BIG}),
    ]


def small_writes(clinic: Clinic) -> list[Write]:
    """Everyday small writes: opening a visit, recording vitals."""
    visit = clinic.visit_at("nursing_assessment")
    fresh = [clinic.register()["id"] for _ in range(10)]
    return [
        ("POST", "clerk", "/api/visits", lambda: {"patient_id": fresh.pop()}),
        ("POST", "nurse", "/api/vital-signs", lambda: {"visit_id": visit, "pulse": 80}),
    ]


def cap_pages(app: Flask, extra: int = 0) -> Callable[[], None]:
    """Cap the database at its current size (plus `extra` pages) on every new connection;
    returns the function that lifts the cap. (The filler table is no model's, so the
    digest does not see it.)"""
    with app.app_context():
        engine = db.engine
    with engine.begin() as connection:
        # take up the free pages first, so the very next write needs a new page
        connection.execute(text("CREATE TABLE IF NOT EXISTS disk_filler (b BLOB)"))
        while int(connection.execute(text("PRAGMA freelist_count")).scalar() or 0):
            connection.execute(text("INSERT INTO disk_filler VALUES (zeroblob(3000))"))
    with engine.connect() as connection:
        pages = int(connection.execute(text("PRAGMA page_count")).scalar() or 0) + extra

    def cap(dbapi: Any, _record: Any) -> None:
        dbapi.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()

    def lift() -> None:
        event.remove(engine, "connect", cap)
        engine.dispose()

    return lift


def assert_refused_cleanly(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)
    body = response.get_json()
    assert body == {"success": False, "error": "The database is unavailable; nothing was saved"}


def test_a_full_database_refuses_each_write_with_503_and_keeps_nothing(clinic: Clinic) -> None:
    plan = big_writes(clinic)
    clinic.hire()
    for method, role, path, body in plan:
        before = digest(clinic.engine)
        lift = cap_pages(clinic.app)
        assert_refused_cleanly(clinic.call(method, role, path, body()))
        lift()
        assert moved(before, digest(clinic.engine)) == [], f"{path} left part of its write"
        assert clinic.call(method, role, path, body()).status_code in (200, 201), path


def test_a_read_whose_audit_record_cannot_be_written_shows_nothing(clinic: Clinic) -> None:
    """Patient data leaves only with its audit record committed: on a full database the
    read is refused with the same 503, and every read answered is on the record."""
    patient = clinic.register(first_name="Nomsa", last_name="Canary")
    clinic.hire()
    lift = cap_pages(clinic.app)
    answered = 0
    for _ in range(200):  # the records fill the last pages' free space first
        response = clinic.get("nurse", f"/api/patients/{patient['id']}")
        if response.status_code != 200:
            break
        answered += 1
    assert_refused_cleanly(response)
    assert "Canary" not in response.get_data(as_text=True)
    lift()
    assert clinic.reads_of(patient["id"]) == answered
    assert clinic.get("nurse", f"/api/patients/{patient['id']}").status_code == 200
    assert clinic.reads_of(patient["id"]) == answered + 1


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs (this suite runs as root in CI and on the dev machines)."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)  # noqa: S603, S607
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)  # noqa: S603, S607


def fill(disk: Path) -> Path:
    """Fill the disk to the last byte with a file; remove it to free the space."""
    filler = disk / "filler"
    try:
        with filler.open("wb", buffering=0) as out:
            while True:
                out.write(bytes(4096))
    except OSError:
        pass  # no space left on device: the point
    return filler


def test_a_full_disk_answers_503_keeps_the_database_whole_and_recovers(
    tiny_disk: Path, edge_template: Path, edge_key: bytes, tmp_path: Path
) -> None:
    from edge import create_app
    from tests.support.clinic import stock_formulary
    from tests.support.identity import bind_edge, make_staff, make_vehicle

    path = tiny_disk / "edge.db"
    shutil.copyfile(edge_template, path)
    engine = sqlcipher_engine(path, edge_key)
    vehicle = make_vehicle(engine, name="Tiny disk clinic")
    bind_edge(engine, vehicle)
    app = create_app(edge_config(path, edge_key, SECRETS_DIR=str(tmp_path / "secrets")))
    clinic = Clinic(
        app,
        app.test_client(),
        engine,
        vehicle,
        lambda role: make_staff(app, engine, role, vehicle_ids=[vehicle]),
        stock_formulary(engine, vehicle),
    )
    clinic.hire()
    plan = small_writes(clinic) + big_writes(clinic)
    filler = fill(tiny_disk)
    refused = 0
    for attempt in range(40):  # the WAL has some slack: write until the disk says no
        method, role, route, body = plan[(refused + attempt) % len(plan)]
        before = digest(engine)
        response = clinic.call(method, role, route, body())
        if response.status_code in (200, 201):
            continue
        assert_refused_cleanly(response)
        assert moved(before, digest(engine)) == [], f"{route} left part of its write"
        refused += 1
        if refused == 3:
            break
    assert refused == 3, "the full disk never refused a write"
    filler.unlink()
    assert clinic.post("clerk", "/api/patients", patient_fields()).status_code == 201
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert connection.execute(text("PRAGMA cipher_integrity_check")).all() == []
    with app.app_context():
        db.engine.dispose()
    engine.dispose()
