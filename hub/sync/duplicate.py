"""The same person registered offline on two vehicles: found at the hub as their rows
arrive, offered for merge, and merged so that every vehicle learns of it by sync."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, update
from sqlalchemy.orm import Session

from common.errors import BadRequest, NotFound
from schema.base import new_id, utcnow
from schema.models import (
    Appointment,
    Claim,
    Diagnosis,
    Patient,
    PatientDuplicate,
    Prescription,
    Referral,
    Visit,
)
from sync.change import Change

ACTIVE = "active"
MERGED = "merged"
# Editable rows that belong to a patient follow the survivor of a merge; append-only
# records (vitals, notes) keep pointing at the loser, which stays as a tombstone row.
_FOLLOWERS = (Visit, Appointment, Claim, Diagnosis, Prescription, Referral)


def detect(connection: Connection, changes: Sequence[Change]) -> None:
    """After a batch is applied: pair each arrived patient with any other active patient
    sharing an SA ID number, a medical aid number and dependant code, or names and date
    of birth."""
    ids = sorted({c.row_id for c in changes if c.table == "patient" and c.op != "d"})
    table = Patient.__table__
    for patient_id in ids:
        row = connection.execute(select(table).where(table.c.id == patient_id)).first()
        if row is None or row.status != ACTIVE:
            continue
        for other_id, reason in _matches(connection, row):
            _pair(connection, patient_id, other_id, reason)


def _matches(connection: Connection, row: Any) -> list[tuple[str, str]]:
    t = Patient.__table__.c
    rules = []
    if row.id_number:
        rules.append((t.id_number == row.id_number, "id_number"))
    if row.medical_aid_number:
        rules.append(
            (
                and_(
                    t.medical_aid_number == row.medical_aid_number,
                    t.dependant_code == row.dependant_code,
                ),
                "medical_aid",
            )
        )
    rules.append(
        (
            and_(
                func.lower(t.first_name) == row.first_name.lower(),
                func.lower(t.last_name) == row.last_name.lower(),
                t.date_of_birth == row.date_of_birth,
            ),
            "name_and_birth",
        )
    )
    found: dict[str, str] = {}
    for condition, reason in rules:
        query = select(t.id).where(condition, t.id != row.id, t.status == ACTIVE)
        for other_id in connection.scalars(query):
            found.setdefault(other_id, reason)
    return sorted(found.items())


def _pair(connection: Connection, a: str, b: str, reason: str) -> None:
    first, second = sorted((a, b))
    d = PatientDuplicate.__table__
    known = connection.execute(
        select(d.c.id).where(
            or_(
                and_(d.c.patient_a_id == first, d.c.patient_b_id == second),
                and_(d.c.patient_a_id == second, d.c.patient_b_id == first),
            )
        )
    ).first()
    if known is None:
        connection.execute(
            d.insert().values(
                id=new_id(),
                patient_a_id=first,
                patient_b_id=second,
                reason=reason,
                status="open",
                detected_at=utcnow(),
            )
        )


def open_pairs(session: Session, page: int, per_page: int) -> tuple[list[PatientDuplicate], int]:
    query = select(PatientDuplicate).where(PatientDuplicate.status == "open")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pairs = session.scalars(
        query.order_by(PatientDuplicate.detected_at).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(pairs), total


def merge(session: Session, winner_id: str, loser_id: str, actor_id: str) -> Patient:
    """Keep `winner_id`; the loser becomes a tombstone pointing at it and everything that
    pointed at the loser follows the winner. Plain ORM writes, so all of it syncs."""
    if winner_id == loser_id:
        raise BadRequest("Choose two different patients to merge")
    winner, loser = session.get(Patient, winner_id), session.get(Patient, loser_id)
    if winner is None or loser is None:
        raise NotFound("No such patient")
    if winner.status != ACTIVE or loser.status != ACTIVE:
        raise BadRequest("Only two active patients can be merged")
    winner.allergies = _union(winner.allergies, loser.allergies)
    winner.chronic_conditions = _union(winner.chronic_conditions, loser.chronic_conditions)
    for column in ("id_number", "medical_aid_number", "dependant_code", "phone", "address"):
        if getattr(winner, column) is None and getattr(loser, column) is not None:
            setattr(winner, column, getattr(loser, column))
    loser.status, loser.merged_into_id = MERGED, winner.id
    for model in _FOLLOWERS:
        for row in session.scalars(select(model).where(model.patient_id == loser.id)):
            row.patient_id = winner.id
    session.execute(
        update(PatientDuplicate)
        .where(
            or_(
                PatientDuplicate.patient_a_id.in_([winner.id, loser.id]),
                PatientDuplicate.patient_b_id.in_([winner.id, loser.id]),
            ),
            PatientDuplicate.status == "open",
        )
        .values(status="merged", resolved_at=utcnow(), resolved_by=actor_id)
    )
    return winner


def dismiss(session: Session, pair_id: str, actor_id: str) -> PatientDuplicate:
    """Two different people after all: close the pair without merging."""
    pair = session.get(PatientDuplicate, pair_id)
    if pair is None:
        raise NotFound("No such duplicate pair")
    pair.status, pair.resolved_at, pair.resolved_by = "dismissed", utcnow(), actor_id
    return pair


def _union(a: list[str] | None, b: list[str] | None) -> list[str]:
    merged = list(a or [])
    merged += [item for item in b or [] if item not in merged]
    return merged
