"""Rows a vehicle would have synced to the hub (visits, diagnoses, claims, stock, supply
requests, devices and their sync links), made directly for tests of head office."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from schema.base import new_id, utcnow
from schema.models import (
    Alert,
    Claim,
    Device,
    Diagnosis,
    Item,
    Lot,
    StockMovement,
    SupplyRequest,
    SupplyRequestLine,
    SyncLink,
    Visit,
)
from tests.support import rows

ACTOR = "01900000-0000-7000-8000-0000000000aa"


def item(session: Session, name: str = "Paracetamol", **extra: Any) -> Item:
    values = {"name": name, "kind": "medicine", "unit": "tablet", "reorder_level": 50, **extra}
    row = Item(**values)
    session.add(row)
    session.flush()
    return row


def visit(
    session: Session, vehicle_id: str, day: dt.date, stage: str = "closure", **extra: Any
) -> Visit:
    patient = extra.pop("patient_id", None) or rows.patient(session).id
    row = Visit(
        patient_id=patient,
        vehicle_id=vehicle_id,
        visit_date=day,
        stage=stage,
        status=extra.pop("status", "open"),
        opened_by=ACTOR,
        opened_at=dt.datetime.combine(day, dt.time(8), dt.UTC),
        **extra,
    )
    session.add(row)
    session.flush()
    return row


def diagnosis(session: Session, of: Visit, code: str) -> Diagnosis:
    row = Diagnosis(
        visit_id=of.id,
        patient_id=of.patient_id,
        vehicle_id=of.vehicle_id,
        icd10_code=code,
        description=code,
        recorded_by=ACTOR,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def claim(session: Session, of: Visit, status: str, amount: str, paid: str | None = None) -> Claim:
    now = utcnow()
    row = Claim(
        visit_id=of.id,
        patient_id=of.patient_id,
        vehicle_id=of.vehicle_id,
        service_date=of.visit_date,
        icd10_codes=["J06.9"],
        total_amount=Decimal(amount),
        paid_amount=Decimal(paid) if paid else None,
        status=status,
        created_by=ACTOR,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def stock(
    session: Session,
    vehicle_id: str,
    of: Item,
    quantity: int,
    expiry: dt.date,
    kind: str = "receipt",
    at: dt.datetime | None = None,
    batch: str = "B1",
) -> Lot:
    """A movement of `quantity` (negative: out) on the vehicle's lot `batch`."""
    lot = session.query(Lot).filter_by(vehicle_id=vehicle_id, item_id=of.id, batch_number=batch)
    found = lot.one_or_none()
    if found is None:
        found = Lot(
            item_id=of.id,
            vehicle_id=vehicle_id,
            batch_number=batch,
            expiry_date=expiry,
            created_at=utcnow(),
        )
        session.add(found)
        session.flush()
    session.add(
        StockMovement(
            vehicle_id=vehicle_id,
            item_id=of.id,
            lot_id=found.id,
            kind=kind,
            quantity=quantity,
            actor_id=ACTOR,
            occurred_at=at or utcnow(),
        )
    )
    session.flush()
    return found


def supply_request(session: Session, vehicle_id: str, of: Item, quantity: int) -> SupplyRequest:
    row = SupplyRequest(
        vehicle_id=vehicle_id,
        priority="normal",
        reason="Running low",
        status="pending",
        requested_by=ACTOR,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    session.add(
        SupplyRequestLine(
            supply_request_id=row.id, vehicle_id=vehicle_id, item_id=of.id, quantity=quantity
        )
    )
    session.flush()
    return row


def synced_device(session: Session, vehicle_id: str, last_success: dt.datetime | None) -> Device:
    """An enrolled device of the vehicle and the hub's link with it."""
    device = Device(
        id="d" + new_id().replace("-", "")[:12],
        vehicle_id=vehicle_id,
        name="Laptop",
        public_key="k" * 64,
        status="active",
        enrolled_at=utcnow() - dt.timedelta(days=30),
    )
    session.add(device)
    session.add(SyncLink(peer=device.id, last_success_at=last_success))
    session.flush()
    return device


def alert(session: Session, vehicle_id: str | None, **extra: Any) -> Alert:
    values = {
        "vehicle_id": vehicle_id,
        "kind": "stock_low",
        "priority": "high",
        "title": "Paracetamol low",
        "status": "active",
        "escalation_level": 0,
        "created_at": utcnow(),
        **extra,
    }
    row = Alert(**values)
    session.add(row)
    session.flush()
    return row
