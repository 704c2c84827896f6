"""Crew tablets at once against one edge: audited reads beside writes on the real
SQLCipher file, over HTTP. A GET's transaction must never be upgraded to a write: SQLite
refuses that at once ("database is locked", a 503) when another tablet has committed."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import func, select

from bench.meter import serving
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
