"""Registering, finding, editing and deactivating patients on a vehicle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict
from edge.patient.schemas import PatientUpdate, complete_identity, identity_problems
from edge.scope import find_patient, patient_reachable, vehicle_of
from schema.base import new_id, utcnow
from schema.models import Patient, Province

RESOURCE = "patient"


def search(
    session: Session, actor: Actor, q: str | None, status: str, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of this vehicle's patients matching `q` (name, ID, passport or medical aid
    number), by surname."""
    query = select(Patient).where(patient_reachable(vehicle_of(actor)))
    if status != "all":
        query = query.where(Patient.status == status)
    if q:
        query = query.where(matches(q))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    patients = session.scalars(
        query.order_by(Patient.last_name, Patient.first_name, Patient.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    views = [view(p) for p in patients]
    detail = {"results": [p.id for p in patients], "searched": bool(q)}
    audit.record_read(session, actor, RESOURCE, None, detail=detail, action="search")
    return views, total


def matches(q: str) -> ColumnElement[bool]:
    """Every word in the full name (any case, any part), or an identifying number."""
    words = q.lower().split()
    name = func.lower(Patient.first_name + " " + Patient.last_name)
    number = "".join(words).upper()
    return or_(
        and_(*[name.contains(word, autoescape=True) for word in words]),
        Patient.id_number.startswith(number, autoescape=True),
        Patient.passport_number == number,
        Patient.medical_aid_number == number,
    )


def get(session: Session, actor: Actor, patient_id: str) -> dict[str, Any]:
    patient = find_patient(session, vehicle_of(actor), patient_id)
    audit.record_read(session, actor, RESOURCE, patient.id, patient_id=patient.id)
    return view(patient)


def register(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """A new patient on this vehicle. The same ID or passport number twice is refused;
    a likely duplicate (same surname and birthday, or medical aid membership) is refused
    until the clerk confirms with `allow_duplicate`."""
    values = {k: v for k, v in data.items() if k != "allow_duplicate"}
    confirmed = bool(data.get("allow_duplicate"))
    check_unique(session, vehicle_of(actor), values, elsewhere_confirmed=confirmed)
    if not confirmed:
        likely = possible_duplicates(session, actor, values)
        if likely:
            raise Conflict(
                "This may be a patient who is already registered; open their record, "
                "or confirm that this is someone else",
                details={"possible_duplicates": likely},
            )
    patient = new_patient(session, actor, values)
    audit.record(
        session,
        actor,
        "patient_created",
        resource_type=RESOURCE,
        resource_id=patient.id,
        patient_id=patient.id,
    )
    session.commit()
    return view(patient)


def new_patient(session: Session, actor: Actor, values: Mapping[str, Any]) -> Patient:
    """Add a checked patient record (flushed, not committed)."""
    _check_province(session, values.get("province_id"))
    now = utcnow()
    patient = Patient(
        id=new_id(),
        **values,
        member_status="unverified",
        status="active",
        registered_vehicle_id=vehicle_of(actor),
        created_at=now,
        updated_at=now,
    )
    session.add(patient)
    return patient


def check_unique(
    session: Session,
    vehicle_id: str,
    values: Mapping[str, Any],
    own_id: str | None = None,
    *,
    elsewhere_confirmed: bool = False,
) -> None:
    """Refuse an ID or passport number another patient already has. Another patient this
    vehicle may see is named, so the crew can open their record; one it may not see is
    neither named nor numbered (the answer would tell a crew who is registered where):
    registering them here anyway, once confirmed, leaves the pair to head office's
    duplicate review (sync protocol, section 8)."""
    for column, label in ((Patient.id_number, "ID"), (Patient.passport_number, "passport")):
        number = values.get(column.key)
        if not number:
            continue
        others = select(Patient.id).where(column == number, Patient.id != own_id)
        seen = session.scalar(others.where(patient_reachable(vehicle_id)).limit(1))
        if seen is not None:
            raise Conflict(
                f"A patient with this {label} number is already registered",
                details={column.key: [f"Already registered to another patient ({seen})"]},
            )
        if not elsewhere_confirmed and session.scalar(others.limit(1)) is not None:
            raise Conflict(elsewhere(label), details={"warnings": [elsewhere(label)]})


def elsewhere(label: str) -> str:
    return f"A patient with this {label} number is registered elsewhere; head office will reconcile"


def possible_duplicates(
    session: Session, actor: Actor, values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Patients this vehicle can see who are probably the same person."""
    same = [
        and_(
            func.lower(Patient.last_name) == values["last_name"].lower(),
            Patient.date_of_birth == values["date_of_birth"],
        )
    ]
    if values.get("medical_aid_number"):
        same.append(
            and_(
                Patient.medical_aid_number == values["medical_aid_number"],
                Patient.dependant_code == values.get("dependant_code"),
            )
        )
    rows = session.scalars(
        select(Patient).where(patient_reachable(vehicle_of(actor)), or_(*same)).limit(5)
    ).all()
    return [_brief(p) for p in rows]


def _brief(patient: Patient) -> dict[str, Any]:
    return {
        "id": patient.id,
        "first_name": patient.first_name,
        "last_name": patient.last_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "medical_aid_number": patient.medical_aid_number,
        "status": patient.status,
    }


def update(
    session: Session, actor: Actor, patient_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a patient's details; the record as a whole must still hold together."""
    patient = find_patient(session, vehicle_of(actor), patient_id)
    merged = {column: getattr(patient, column) for column in changes_columns()} | dict(changes)
    problems = identity_problems(merged)
    if problems:
        raise BadRequest("Invalid input", details=problems)
    merged = complete_identity(merged)
    changed = sorted(k for k in merged if getattr(patient, k) != merged[k])
    # Only a number being changed is checked: a patient registered here once confirmed
    # as someone head office holds elsewhere stays editable until the pair is reconciled.
    check_unique(session, vehicle_of(actor), {k: merged[k] for k in changed}, own_id=patient.id)
    _check_province(session, merged.get("province_id"))
    for name in changed:
        setattr(patient, name, merged[name])
    patient.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "patient_updated",
        resource_type=RESOURCE,
        resource_id=patient.id,
        patient_id=patient.id,
        detail={"changed": changed},
    )
    session.commit()
    return view(patient)


def changes_columns() -> tuple[str, ...]:
    """The columns the API may change (the update schema's fields)."""
    return tuple(PatientUpdate().fields)


def deactivate(
    session: Session, actor: Actor, patient_id: str, reason: str | None
) -> dict[str, Any]:
    """Hide a patient from searches and new visits; the record and history stay."""
    patient = find_patient(session, vehicle_of(actor), patient_id)
    if patient.status != "active":
        raise Conflict("This patient is already deactivated")
    patient.status = "deactivated"
    patient.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "patient_deactivated",
        resource_type=RESOURCE,
        resource_id=patient.id,
        patient_id=patient.id,
        detail={"reason": reason},
    )
    session.commit()
    return view(patient)


def _check_province(session: Session, province_id: str | None) -> None:
    if province_id and session.get(Province, province_id) is None:
        raise BadRequest("Invalid input", details={"province_id": ["No such province"]})


def view(patient: Patient, now: dt.datetime | None = None) -> dict[str, Any]:
    """A patient as the API shows it, with how old the eligibility check is."""
    values = {column.key: getattr(patient, column.key) for column in Patient.__table__.columns}
    values["eligibility"] = eligibility(patient.member_status, patient.member_verified_at, now)
    return values


def eligibility(
    status: str, verified_at: dt.datetime | None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The member status from the vehicle's copy, whether it makes the member eligible
    (None while unverified: PALMED decides at the hub), and how long ago it was verified,
    in words for the crew: registration works offline from this."""
    eligible = True if status == "active" else None if status == "unverified" else False
    found = {"status": status, "eligible": eligible, "verified_at": verified_at}
    if verified_at is None:
        return found | {"age_days": None, "age_text": "never verified"}
    days = max(0, ((now or utcnow()) - verified_at).days)
    text = "verified today" if days == 0 else f"verified {days} day{'s' if days != 1 else ''} ago"
    return found | {"age_days": days, "age_text": text}
