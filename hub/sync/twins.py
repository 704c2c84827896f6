"""Two laptops of one vehicle that each opened a visit for the same patient on the same
day, offline: both visits are kept (each laptop's is its own, `schema.models.Visit`), and
head office tells the vehicle so its crew closes the one they do not need. Nothing either
laptop recorded is lost meanwhile."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, select
from sqlalchemy.orm import Session, aliased

from schema.base import utcnow
from schema.models import Alert, Visit
from sync.change import Change

KIND = "duplicate_visit"


def notice(connection: Connection, changes: Sequence[Change]) -> None:
    """After a batch is applied: an alert for each patient with two open visits of one
    vehicle on one day, from different laptops (one query for the batch)."""
    ids = sorted({c.row_id for c in changes if c.table == Visit.__tablename__ and c.op != "d"})
    if not ids:
        return
    other = aliased(Visit)
    pairs = connection.execute(
        select(Visit.vehicle_id, Visit.patient_id, Visit.open_day, Visit.id, other.id)
        .join(
            other,
            and_(
                other.vehicle_id == Visit.vehicle_id,
                other.patient_id == Visit.patient_id,
                other.open_day == Visit.open_day,
                other.id != Visit.id,
            ),
        )
        .where(Visit.id.in_(ids), Visit.open_day.is_not(None))
    ).all()
    if not pairs:
        return
    with Session(bind=connection) as session:
        for vehicle_id, patient_id, day, first, second in pairs:
            _alert(session, vehicle_id, patient_id, day, sorted((first, second)))
        session.flush()


def _alert(
    session: Session, vehicle_id: str, patient_id: str, day: object, visits: list[str]
) -> None:
    dedupe_key = f"{KIND}:{patient_id}:{day}"
    if session.scalar(select(Alert.id).where(Alert.dedupe_key == dedupe_key)) is not None:
        return
    session.add(
        Alert(
            vehicle_id=vehicle_id,
            kind=KIND,
            priority="high",
            title="Two open visits for one patient today, from two laptops",
            detail=(
                f"Visits {visits[0]} and {visits[1]} were opened on {day} on two of this "
                "vehicle's laptops while they were offline. Both are kept: carry on in one "
                "and close the other (its records stay with it)."
            ),
            resource_type="visit",
            resource_id=visits[0],
            dedupe_key=dedupe_key,
            status="active",
            escalation_level=0,
            created_at=utcnow(),
        )
    )
