"""The same person registered offline on two vehicles: found at the hub as their rows
arrive, offered for merge, and merged so that every vehicle learns of it by sync."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from common.access import Actor
from common.errors import BadRequest, NotFound
from hub.scope import Reach, reach
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
    of birth. One query per rule for the whole batch: a day's push brings a hundred
    patients, and a query per patient per rule would cost more than applying them."""
    ids = sorted({c.row_id for c in changes if c.table == "patient" and c.op != "d"})
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for rule, reason in _RULES:
            for arrived, other in connection.execute(_matching(chunk, rule)):
                found.setdefault(arrived, {}).setdefault(other, reason)
    for patient_id in sorted(found):
        for other_id, reason in sorted(found[patient_id].items()):
            _pair(connection, patient_id, other_id, reason)


_CHUNK = 500
_arrived = Patient.__table__.alias("arrived")
_other = Patient.__table__.alias("other")
_RULES = (
    (and_(_arrived.c.id_number != "", _other.c.id_number == _arrived.c.id_number), "id_number"),
    (
        and_(
            _arrived.c.medical_aid_number != "",
            _other.c.medical_aid_number == _arrived.c.medical_aid_number,
            _other.c.dependant_code.is_not_distinct_from(_arrived.c.dependant_code),
        ),
        "medical_aid",
    ),
    (
        and_(
            _other.c.date_of_birth == _arrived.c.date_of_birth,
            func.lower(_other.c.last_name) == func.lower(_arrived.c.last_name),
            func.lower(_other.c.first_name) == func.lower(_arrived.c.first_name),
        ),
        "name_and_birth",
    ),
)


def _matching(ids: list[str], rule: Any) -> Any:
    """(arrived, other) pairs of active patients that `rule` says are the same person."""
    return (
        select(_arrived.c.id, _other.c.id)
        .select_from(_arrived.join(_other, and_(rule, _other.c.id != _arrived.c.id)))
        .where(_arrived.c.id.in_(ids), _arrived.c.status == ACTIVE, _other.c.status == ACTIVE)
    )


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


def open_pairs(
    session: Session, who: Actor | Reach, page: int, per_page: int
) -> tuple[list[PatientDuplicate], int]:
    """Open pairs whose two patients the caller's vehicles both know."""
    query = _in_reach(reach(session, who), select(PatientDuplicate))
    query = query.where(PatientDuplicate.status == "open")
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pairs = session.scalars(
        query.order_by(PatientDuplicate.detected_at).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return list(pairs), total


def merge(
    session: Session, who: Actor | Reach, winner_id: str, loser_id: str, actor_id: str
) -> Patient:
    """Keep `winner_id`; the loser becomes a tombstone pointing at it and everything that
    pointed at the loser follows the winner. Plain ORM writes, so all of it syncs. Both
    must be patients the caller's vehicles know."""
    if winner_id == loser_id:
        raise BadRequest("Choose two different patients to merge")
    known = reach(session, who).patients(select(Patient), Patient.id)
    found = {p.id: p for p in session.scalars(known.where(Patient.id.in_([winner_id, loser_id])))}
    winner, loser = found.get(winner_id), found.get(loser_id)
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


def dismiss(session: Session, who: Actor | Reach, pair_id: str, actor_id: str) -> PatientDuplicate:
    """Two different people after all: close the pair without merging."""
    query = _in_reach(reach(session, who), select(PatientDuplicate))
    pair = session.scalar(query.where(PatientDuplicate.id == pair_id))
    if pair is None:
        raise NotFound("No such duplicate pair")
    pair.status, pair.resolved_at, pair.resolved_by = "dismissed", utcnow(), actor_id
    return pair


def _in_reach(within: Reach, query: Select[Any]) -> Select[Any]:
    query = within.patients(query, PatientDuplicate.patient_a_id)
    return within.patients(query, PatientDuplicate.patient_b_id)


def _union(a: list[str] | None, b: list[str] | None) -> list[str]:
    merged = list(a or [])
    merged += [item for item in b or [] if item not in merged]
    return merged
