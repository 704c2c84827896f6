"""Eligibility copied from PALMED onto patients, so vehicles can check it offline.

`follow` reads PALMED's feed of member status changes from the cursor saved at the hub;
`verify` looks up patients registered offline as unverified. Either way each affected
patient's `member_status` and `member_verified_at` are written through the ORM, so the
change syncs to every vehicle that holds the patient. A change may take effect on
another day than it is announced, so the status written is PALMED's answer for today
(a member lookup), not the change itself.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select, tuple_
from sqlalchemy.orm import Session

from common import audit
from common.audit import Who
from common.database import locked_row, new_session
from hub.claims import palmed
from schema.base import utcnow
from schema.models import MemberFeed, Patient

log = logging.getLogger(__name__)

FEED = "palmed"
UNVERIFIED = "unverified"
NOT_FOUND = "not_found"
SYSTEM = Who(None, "palmed-eligibility", "system", None, None, None)

Member = tuple[str, str]


@dataclass
class Report:
    changes: int = 0
    patients: int = 0
    verified: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"changes": self.changes, "patients": self.patients, "verified": self.verified}


def status_of(standing: palmed.MemberStanding) -> str:
    """The member status a vehicle shows: active only if covered and active today."""
    if standing.eligible:
        return "active"
    if standing.status in ("suspended", "terminated"):
        return standing.status
    return "inactive"  # outside the cover period, or before the first status


def follow(
    engine: Engine,
    client: palmed.PalmedClient,
    today: dt.date,
    page_size: int = 200,
    max_pages: int = 50,
) -> Report:
    """Apply the feed's new pages; the cursor is saved with each page's updates, and a
    page another process applied first is not applied again."""
    report = Report()
    cursor = _cursor(engine) or "0"
    for _ in range(max_pages):
        page = client.member_changes(since=cursor, limit=page_size)
        members = {(c.member.member_number, c.member.dependant_code) for c in page.changes}
        standings = _standings(client, _members_held(engine, members), today)
        with new_session(engine) as session, session.begin():
            feed = locked_row(session, MemberFeed, FEED, _new_feed)
            if feed.cursor != cursor:
                break  # another process is ahead of us
            report.patients += _write(session, standings, utcnow())
            feed.cursor, feed.updated_at = page.next_cursor, utcnow()
        report.changes += len(page.changes)
        cursor = page.next_cursor
        if not page.has_more:
            break
    return report


def verify(engine: Engine, client: palmed.PalmedClient, today: dt.date, limit: int = 200) -> int:
    """Look up patients registered as unverified (a member not in a vehicle's copy)."""
    with new_session(engine) as session:
        members = {
            (number, dependant)
            for number, dependant in session.execute(
                select(Patient.medical_aid_number, Patient.dependant_code)
                .where(
                    Patient.member_status == UNVERIFIED,
                    Patient.medical_aid_number.is_not(None),
                    Patient.dependant_code.is_not(None),
                    Patient.merged_into_id.is_(None),
                )
                .limit(limit)
            )
        }
    standings = _standings(client, members, today)
    with new_session(engine) as session, session.begin():
        return _write(session, standings, utcnow())


def _standings(
    client: palmed.PalmedClient, members: Iterable[Member], today: dt.date
) -> dict[Member, str]:
    found = {}
    for number, dependant in sorted(members):
        try:
            found[(number, dependant)] = status_of(client.member(number, dependant, on=today))
        except palmed.NotFound:
            found[(number, dependant)] = NOT_FOUND
    return found


def _members_held(engine: Engine, members: set[Member]) -> set[Member]:
    """The members among `members` that are patients here (only those are looked up)."""
    if not members:
        return set()
    with new_session(engine) as session:
        return {
            (number, dependant)
            for number, dependant in session.execute(
                select(Patient.medical_aid_number, Patient.dependant_code).where(
                    tuple_(Patient.medical_aid_number, Patient.dependant_code).in_(list(members))
                )
            )
        }


def _write(session: Session, standings: dict[Member, str], now: dt.datetime) -> int:
    """Each matching patient's status and when it was verified; how many were written."""
    if not standings:
        return 0
    patients = session.scalars(
        select(Patient).where(
            tuple_(Patient.medical_aid_number, Patient.dependant_code).in_(list(standings)),
            Patient.merged_into_id.is_(None),
        )
    ).all()
    for patient in patients:
        member = (patient.medical_aid_number or "", patient.dependant_code or "")
        patient.member_status, patient.member_verified_at = standings[member], now
        patient.updated_at = now
        audit.record(
            session,
            SYSTEM,
            "member_status_verified",
            resource_type="patient",
            resource_id=patient.id,
            patient_id=patient.id,
            detail={"member_status": patient.member_status},
        )
    return len(patients)


def _cursor(engine: Engine) -> str | None:
    with new_session(engine) as session:
        feed = session.get(MemberFeed, FEED)
        return feed.cursor if feed else None


def _new_feed() -> MemberFeed:
    return MemberFeed(name=FEED, cursor="0", updated_at=utcnow())
