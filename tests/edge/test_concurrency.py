"""Crew tablets at once against one edge: audited reads beside writes on the real
SQLCipher file, over HTTP. A GET's transaction must never be upgraded to a write: SQLite
refuses that at once ("database is locked", a 503) when another tablet has committed.
Concurrent reads share group commits of their audit records, which must lose, repeat or
reorder none of them."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import func, select

from bench.meter import serving
from common import audit
from common.database import new_session
from schema.models import AuditRecord
from tests.support.clinic import Clinic

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
    with clinic.engine.connect() as connection:
        reads = connection.scalar(
            select(func.count()).where(
                AuditRecord.action == "read", AuditRecord.patient_id == patient["id"]
            )
        )
    assert reads == 3 * ROUNDS


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
