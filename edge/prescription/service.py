"""Prescribing from the formulary during the consultation, and dispensing from stock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.clinicday import clinic_day
from common.database import committed
from common.errors import BadRequest, Conflict, NotFound
from edge.prescription import dispense
from edge.scope import find_visit, vehicle_of
from edge.visit import workflow
from schema.base import utcnow
from schema.models import Item, Patient, Prescription, StockMovement, Visit

RESOURCE = "prescription"
MEDICINE = "medicine"
PRESCRIBED, DISPENSED = "prescribed", "dispensed"
DISPENSING_STAGES = (workflow.CONSULTATION, workflow.COUNSELING)


def prescribe(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """A prescription from the formulary. A medicine the patient may be allergic to is
    refused until the doctor accepts the warning; `dispense` also takes it from stock."""
    visit = find_visit(session, vehicle_of(actor), data["visit_id"])
    workflow.require_stage(visit.stage, visit.status, actor.role, workflow.CONSULTATION)
    item = _formulary_item(session, data["nappi_code"])
    patient = session.get_one(Patient, visit.patient_id)
    allergies = allergy_warnings(patient.allergies, item)
    if allergies and not data["accept_warnings"]:
        raise Conflict(
            "Possible allergy: accept the warning to prescribe anyway",
            details={"warnings": allergies},
        )
    held = dispense.on_hand(session, visit.vehicle_id, item.id, clinic_day(utcnow()))
    stock = (
        [] if held >= data["quantity"] else [f"Only {held} {item.unit} in stock on this vehicle"]
    )
    prescription = Prescription(
        visit_id=visit.id,
        patient_id=visit.patient_id,
        vehicle_id=visit.vehicle_id,
        item_id=item.id,
        nappi_code=item.nappi_code,
        dose=data["dose"],
        frequency=data["frequency"],
        duration_days=data["duration_days"],
        quantity=data["quantity"],
        instructions=data.get("instructions"),
        status=PRESCRIBED,
        warnings=allergies + stock,
        prescribed_by=actor.user_id,
        prescribed_at=utcnow(),
    )
    session.add(prescription)
    session.flush()
    audit.record(
        session,
        actor,
        "prescribed",
        resource_type=RESOURCE,
        resource_id=prescription.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "nappi_code": item.nappi_code},
    )
    if data["dispense"]:
        _dispense(session, actor, visit, prescription)
    return committed(session, view(session, prescription))


def _formulary_item(session: Session, nappi_code: str) -> Item:
    item = session.scalar(select(Item).where(Item.nappi_code == nappi_code))
    if item is None or not item.active or item.kind != MEDICINE:
        message = f"NAPPI {nappi_code} is not a medicine in the formulary"
        raise BadRequest(message, details={"nappi_code": [message]})
    return item


def allergy_warnings(allergies: list[str], item: Item) -> list[str]:
    """Recorded allergies the medicine's name mentions (or is mentioned by)."""
    name = item.name.lower()
    return [
        f"The patient is recorded as allergic to {allergy}"
        for allergy in allergies
        if allergy.strip() and (allergy.lower() in name or name in allergy.lower())
    ]


def dispense_prescription(session: Session, actor: Actor, prescription_id: str) -> dict[str, Any]:
    """Hand out a prescribed medicine: the stock movements and the status change commit
    together, or neither does."""
    prescription = session.get(Prescription, prescription_id)
    if prescription is None or prescription.vehicle_id != vehicle_of(actor):
        raise NotFound("Prescription not found")
    visit = session.get_one(Visit, prescription.visit_id)
    _dispense(session, actor, visit, prescription)
    return committed(session, view(session, prescription))


def _dispense(session: Session, actor: Actor, visit: Visit, prescription: Prescription) -> None:
    if visit.status != workflow.OPEN or visit.stage not in DISPENSING_STAGES:
        raise Conflict("Medicines are dispensed while the visit is at consultation or counseling")
    if prescription.status != PRESCRIBED:
        raise Conflict("This prescription has already been dispensed")
    dispense.dispense(
        session,
        vehicle_id=visit.vehicle_id,
        item_id=prescription.item_id,
        quantity=prescription.quantity,
        actor_id=actor.user_id,
        reference_type=RESOURCE,
        reference_id=prescription.id,
        today=clinic_day(utcnow()),
    )
    prescription.status = DISPENSED
    prescription.dispensed_by, prescription.dispensed_at = actor.user_id, utcnow()
    audit.record(
        session,
        actor,
        "dispensed",
        resource_type=RESOURCE,
        resource_id=prescription.id,
        patient_id=visit.patient_id,
        detail={"visit_id": visit.id, "quantity": prescription.quantity},
    )


def for_visit(session: Session, actor: Actor, visit_id: str) -> list[dict[str, Any]]:
    visit = find_visit(session, vehicle_of(actor), visit_id)
    rows = session.scalars(
        select(Prescription)
        .where(Prescription.visit_id == visit.id)
        .order_by(Prescription.prescribed_at)
    ).all()
    audit.record_read(
        session, actor, RESOURCE, None, patient_id=visit.patient_id, detail={"visit_id": visit.id}
    )
    return [view(session, p) for p in rows]


def view(session: Session, prescription: Prescription) -> dict[str, Any]:
    """A prescription with its medicine's name and the lots it was dispensed from."""
    item = session.get_one(Item, prescription.item_id)
    values = {c.key: getattr(prescription, c.key) for c in Prescription.__table__.columns}
    values["name"], values["strength"] = item.name, item.strength
    movements = session.scalars(
        select(StockMovement).where(
            StockMovement.reference_type == RESOURCE, StockMovement.reference_id == prescription.id
        )
    )
    values["lots"] = [{"lot_id": m.lot_id, "quantity": -m.quantity} for m in movements]
    return values


def formulary(
    session: Session, actor: Actor, q: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Active medicines by name or NAPPI code, with what this vehicle holds of each."""
    vehicle_id = vehicle_of(actor)
    query = select(Item).where(Item.active.is_(True), Item.kind == MEDICINE)
    if q:
        query = query.where(
            or_(
                func.lower(Item.name).contains(q.lower(), autoescape=True),
                Item.nappi_code.startswith(q, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Item.name, Item.strength).limit(per_page).offset((page - 1) * per_page)
    )
    today = clinic_day(utcnow())
    return [
        {
            "id": item.id,
            "nappi_code": item.nappi_code,
            "name": item.name,
            "strength": item.strength,
            "unit": item.unit,
            "on_hand": dispense.on_hand(session, vehicle_id, item.id, today),
        }
        for item in items
    ], total
