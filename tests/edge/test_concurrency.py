"""Crew tablets at once against one edge: audited reads beside writes on the real
SQLCipher file, over HTTP. A GET's transaction must never be upgraded to a write: SQLite
refuses that at once ("database is locked", a 503) when another tablet has committed.
Concurrent reads share group commits of their audit records, which must lose, repeat or
reorder none of them."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, event, select

from bench.meter import serving
from common import audit
from common.database import db, new_session, write_intended, write_intent
from schema.models import AuditRecord
from sync.txn import gate_of
from tests.common.test_groupcommit import wait_until_queued
from tests.support.clinic import Clinic, patient_fields

ROUNDS = 15


def test_audited_reads_beside_writes_all_succeed(clinic: Clinic) -> None:
    patient = clinic.register()
    path = f"/api/patients/{patient['id']}"
    clinic.hire("nurse", "doctor", "clerk")
    statuses: list[tuple[str, int]] = []
    start = threading.Barrier(4)

    def work(role: str, method: str, base: str) -> None:
        headers = clinic.staff(role).headers
        start.wait()
        for n in range(ROUNDS):
            body = {"phone": f"07312345{n:02d}"} if method == "PUT" else None
            response = requests.request(method, base + path, json=body, headers=headers, timeout=60)
            statuses.append((method, response.status_code))

    with serving(clinic.app) as base:
        tablets = [("nurse", "GET"), ("doctor", "GET"), ("clerk", "GET"), ("nurse", "PUT")]
        threads = [threading.Thread(target=work, args=(*t, base)) for t in tablets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(set(statuses)) == [("GET", 200), ("PUT", 200)], statuses
    assert clinic.reads_of(patient["id"]) == 3 * ROUNDS


READERS = 6


def test_concurrent_reads_are_each_recorded_once_in_order_on_a_valid_chain(
    clinic: Clinic,
) -> None:
    """Reads from many tablets at once share group commits: every read has exactly one
    record, each tablet's records follow the order of its reads, and the chain verifies."""
    patients = [clinic.register()["id"] for _ in range(3)]
    clinic.hire("nurse", "doctor", "clerk")
    roles = ("nurse", "doctor", "clerk")
    failures: list[str] = []
    start = threading.Barrier(READERS + 1)

    def read(tablet: int, base: str) -> None:
        headers = dict(clinic.staff(roles[tablet % 3]).headers)
        start.wait()
        for n in range(ROUNDS):
            headers["User-Agent"] = f"tablet-{tablet}-read-{n:02d}"
            path = f"/api/patients/{patients[n % 3]}"
            response = requests.get(base + path, headers=headers, timeout=60)
            if response.status_code != 200:
                failures.append(f"{headers['User-Agent']}: {response.status_code}")

    def write(base: str) -> None:  # the tablets' records interleave with a writer's
        headers = clinic.staff("clerk").headers
        start.wait()
        for n in range(ROUNDS):
            body = {"phone": f"07312345{n:02d}"}
            response = requests.put(
                f"{base}/api/patients/{patients[0]}", json=body, headers=headers, timeout=60
            )
            if response.status_code != 200:
                failures.append(f"write {n}: {response.status_code}")

    with serving(clinic.app) as base:
        threads = [threading.Thread(target=read, args=(t, base)) for t in range(READERS)]
        threads.append(threading.Thread(target=write, args=(base,)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    with new_session(clinic.engine) as session:
        reads = session.execute(
            select(AuditRecord.user_agent, AuditRecord.patient_id)
            .where(AuditRecord.action == "read", AuditRecord.user_agent.like("tablet-%"))
            .order_by(AuditRecord.chain_seq)
        ).all()
        reports = audit.verify(session)
    agents = [agent for agent, _ in reads]
    expected = {f"tablet-{t}-read-{n:02d}" for t in range(READERS) for n in range(ROUNDS)}
    assert sorted(agents) == sorted(expected), "each read has exactly one record"
    for tablet in range(READERS):
        mine = [agent for agent in agents if agent.startswith(f"tablet-{tablet}-")]
        assert mine == sorted(mine), f"tablet {tablet}'s reads are recorded out of order"
    for agent, patient_id in reads:
        assert patient_id == patients[int(agent.rsplit("-", 1)[1]) % 3]
    assert [report.broken for report in reports] == [None] * len(reports)
    assert sum(report.records for report in reports) > READERS * ROUNDS


WAIT = 30  # seconds: only ever reached if the code under test hangs


def _writer_in_progress(
    engine: Engine, started: threading.Event, finish: threading.Event, commit: bool
) -> None:
    """A write transaction holding the write gate until told to commit or roll back."""
    who = audit.Who(None, "writer", None, None, None, None)
    with write_intent(), new_session(engine) as session:
        session.begin()
        audit.record(session, who, "test_write")
        started.set()
        assert finish.wait(WAIT)
        session.commit() if commit else session.rollback()


@pytest.mark.parametrize("commit", [True, False], ids=["committed", "rolled-back"])
def test_a_read_waiting_for_a_writer_is_recorded_in_its_commit_or_after_its_rollback(
    clinic: Clinic, commit: bool
) -> None:
    """A GET whose audit record would queue behind a write in progress has the record
    committed by that write (no transaction of its own); when the write rolls back, the
    record is not lost but written by the reads themselves, and the GET still answers."""
    patient = clinic.register()["id"]
    clinic.hire("nurse")
    with clinic.app.app_context():
        engine = db.engine  # the app's own: its write gate and its group commit
    waiting = audit._reads.of(engine)
    started, finish = threading.Event(), threading.Event()
    writer = threading.Thread(
        target=_writer_in_progress, args=(engine, started, finish, commit), name="writer"
    )
    writes: list[str] = []
    answers: list[int] = []

    def committed(connection: Any) -> None:
        if write_intended():
            writes.append(threading.current_thread().name)

    with serving(clinic.app) as base:
        writer.start()
        assert started.wait(WAIT)
        headers = clinic.staff("nurse").headers
        reader = threading.Thread(
            target=lambda: answers.append(
                requests.get(
                    f"{base}/api/patients/{patient}", headers=headers, timeout=60
                ).status_code
            )
        )
        reader.start()
        wait_until_queued(waiting, 1)
        assert answers == [], "the read may not answer before its record is committed"
        event.listen(engine, "commit", committed)
        try:
            finish.set()
            writer.join(WAIT)
            reader.join(WAIT)
        finally:
            event.remove(engine, "commit", committed)
    assert answers == [200]
    # Committed, the writer's is the only write transaction; rolled back, the read's own.
    assert len(writes) == 1 and (writes[0] == "writer") is commit, writes
    with new_session(clinic.engine) as session:
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.chain_seq))
        tail = list(actions)[-2:]
        reports = audit.verify(session)
    assert tail == (["test_write", "read"] if commit else [tail[0], "read"])
    assert commit or "test_write" not in tail
    assert [report.broken for report in reports] == [None] * len(reports)


def test_each_step_of_a_visit_takes_the_write_lock_once(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write request builds its answer before it commits: reading it afterwards would
    begin a second write transaction, holding the lock (which every read waits for to
    commit its audit record) until the request ended."""
    with clinic.app.app_context():
        gate = gate_of(db.engine)
    assert gate is not None
    entries: list[Any] = []
    enter = gate.enter
    monkeypatch.setattr(gate, "enter", lambda raw: (entries.append(raw), enter(raw))[1])
    clinic.hire()

    def step(role: str, path: str, body: Any = None) -> Any:
        entries.clear()
        answer = clinic.ok("POST", role, path, body or {})
        assert len(entries) == 1, path
        return answer

    patient = step("clerk", "/api/patients", patient_fields())
    visit = step("clerk", "/api/visits", {"patient_id": patient["id"]})["id"]
    step("clerk", f"/api/visits/{visit}/advance")
    step("nurse", "/api/vital-signs", {"visit_id": visit, "pulse": 72})
    step("nurse", f"/api/visits/{visit}/advance")
    step("doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "J06.9"})
    step("doctor", f"/api/visits/{visit}/advance")
    step("social_worker", "/api/clinical-notes", {"visit_id": visit, "body": "Home care."})
    closed = step("social_worker", f"/api/visits/{visit}/advance")
    assert closed["status"] == "closed" and closed["claim"] is not None
