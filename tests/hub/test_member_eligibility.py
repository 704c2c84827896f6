"""Member statuses from the sandbox's feed land on the hub's patients (and so sync down)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from common.database import new_session
from hub.members import eligibility
from schema.models import AuditRecord, MemberFeed, Patient, SyncChange
from tests.support import rows
from tests.support.palmed import Sandbox

pytestmark = pytest.mark.mysql

TODAY = dt.date.today()


def patient(engine: Engine, member: str | None, dependant: str | None = "00") -> str:
    with new_session(engine) as session, session.begin():
        row = rows.patient(session, medical_aid_number=member, dependant_code=dependant)
        return row.id


def status(engine: Engine, patient_id: str) -> tuple[str, dt.datetime | None]:
    with new_session(engine) as session:
        row = session.get(Patient, patient_id)
        assert row is not None
        return row.member_status, row.member_verified_at


def captured(engine: Engine, patient_id: str) -> int:
    """Changes of this patient in the change log: what the sync sends to vehicles."""
    with new_session(engine) as session:
        query = select(func.count()).where(
            SyncChange.table_name == "patient", SyncChange.row_id == patient_id
        )
        return session.scalar(query) or 0


def test_the_feed_updates_the_patients_who_are_members_and_resumes_from_its_cursor(
    hub_engine: Engine, palmed_sandbox: Sandbox
) -> None:
    active = patient(hub_engine, "110234561")
    suspended = patient(hub_engine, "110743906")
    terminated = patient(hub_engine, "110925683")
    no_aid = patient(hub_engine, None, None)
    before = captured(hub_engine, active)

    with palmed_sandbox.client() as client:
        first = eligibility.follow(hub_engine, client, TODAY, page_size=7)
        again = eligibility.follow(hub_engine, client, TODAY)

    assert first.changes == 28 and first.patients == 3  # 24 enrolments, 4 later statuses
    assert (again.changes, again.patients) == (0, 0)
    assert status(hub_engine, active)[0] == "active"
    assert status(hub_engine, suspended)[0] == "suspended"
    assert status(hub_engine, terminated)[0] == "terminated"
    assert status(hub_engine, no_aid) == ("unverified", None)
    verified_at = status(hub_engine, active)[1]
    assert verified_at is not None
    assert verified_at > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    assert captured(hub_engine, active) == before + 1
    with new_session(hub_engine) as session:
        feed = session.get(MemberFeed, eligibility.FEED)
        assert feed is not None and feed.cursor == "28"
        audited = session.scalars(
            select(AuditRecord.patient_id).where(AuditRecord.action == "member_status_verified")
        ).all()
    assert sorted(audited) == sorted([active, suspended, terminated])


def test_a_status_change_at_palmed_reaches_the_patient_on_the_day_it_takes_effect(
    hub_engine: Engine, palmed_sandbox: Sandbox
) -> None:
    now_suspended = patient(hub_engine, "110234561")
    later_suspended = patient(hub_engine, "110587342")
    with palmed_sandbox.client() as client:
        eligibility.follow(hub_engine, client, TODAY)
        palmed_sandbox.admin("POST", "/members/110234561/00/status", {"status": "suspended"})
        tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
        palmed_sandbox.admin(
            "POST",
            "/members/110587342/00/status",
            {"status": "terminated", "effective_date": tomorrow},
        )

        report = eligibility.follow(hub_engine, client, TODAY)

    assert (report.changes, report.patients) == (2, 2)
    assert status(hub_engine, now_suspended)[0] == "suspended"
    assert status(hub_engine, later_suspended)[0] == "active"


def test_patients_registered_unverified_are_looked_up(
    hub_engine: Engine, palmed_sandbox: Sandbox
) -> None:
    member = patient(hub_engine, "110587342", "01")
    stranger = patient(hub_engine, "999999999")
    child = patient(hub_engine, "111470536", "01")  # cover ended in 2024

    with palmed_sandbox.client() as client:
        verified = eligibility.verify(hub_engine, client, TODAY)

    assert verified == 3
    assert status(hub_engine, member)[0] == "active"
    assert status(hub_engine, stranger)[0] == "not_found"
    assert status(hub_engine, child)[0] == "terminated"
    with palmed_sandbox.client() as client:
        assert eligibility.verify(hub_engine, client, TODAY) == 0
