"""Clinical fixtures: valid SA ID numbers, a crew, a stocked formulary, and helpers that walk
a visit through its stages through the API (registered as a pytest plugin in conftest).

    def test_vitals(clinic):
        visit = clinic.visit_at("nursing_assessment")
        clinic.post("nurse", "/api/vital-signs", {"visit_id": visit, "pulse": 80})
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select
from stdnum import luhn

from common.database import new_session
from common.permission import Role
from schema.base import utcnow
from schema.models import AuditRecord, Item, Lot, StockMovement, Tariff
from tests.support.identity import Staff
from tests.support.tables import AUDIT_TABLES, row_counts

_sequence = itertools.count(100)

PARACETAMOL = "7010017"
AMOXICILLIN = "7020011"
STAGE_ORDER = (
    "registration",
    "nursing_assessment",
    "doctor_consultation",
    "counseling_session",
    "closure",
)


def sa_id(born: dt.date = dt.date(1985, 3, 14), sex: str = "F", citizen: int = 0) -> str:
    """A valid South African ID number for this birthday and sex."""
    sequence = next(_sequence) % 5000 + (5000 if sex == "M" else 0)
    body = f"{born:%y%m%d}{sequence:04d}{citizen}8"
    return body + luhn.calc_check_digit(body)


def patient_fields(**extra: Any) -> dict[str, Any]:
    fields = {
        "first_name": "Thandi",
        "last_name": f"Mokoena{next(_sequence)}",
        "id_number": sa_id(),
        "phone": "082 123 4567",
        "medical_aid_number": f"1102{next(_sequence):05d}",
        "dependant_code": "01",
        "allergies": ["Penicillin"],
    }
    fields.update(extra)
    return fields


def stock_formulary(engine: Engine, vehicle_id: str) -> dict[str, str]:
    """Two medicines and a consultation tariff; paracetamol in two lots (the earlier
    expiring one smaller) and an expired lot that must never be dispensed."""
    today = dt.date.today()
    with new_session(engine) as session, session.begin():
        paracetamol = Item(
            nappi_code=PARACETAMOL,
            name="Paracetamol",
            kind="medicine",
            strength="500 mg",
            unit="tablet",
            pack_size=100,
            tariff_price=Decimal("0.35"),
            reorder_level=10,
            active=True,
        )
        amoxicillin = Item(
            nappi_code=AMOXICILLIN,
            name="Amoxicillin",
            kind="medicine",
            strength="500 mg",
            unit="capsule",
            pack_size=20,
            tariff_price=Decimal("1.20"),
            reorder_level=5,
            active=True,
        )
        tariff = Tariff(
            code="0190",
            description="Consultation: average duration",
            kind="consultation",
            amount=Decimal("520.00"),
            active=True,
        )
        session.add_all([paracetamol, amoxicillin, tariff])
        session.flush()
        lots = {
            "expired": _lot(
                session, vehicle_id, paracetamol.id, "P-OLD", today - dt.timedelta(days=1), 50
            ),
            "soon": _lot(
                session, vehicle_id, paracetamol.id, "P-SOON", today + dt.timedelta(days=30), 10
            ),
            "later": _lot(
                session, vehicle_id, paracetamol.id, "P-LATER", today + dt.timedelta(days=300), 100
            ),
        }
    return {"paracetamol": paracetamol.id, "amoxicillin": amoxicillin.id, **lots}


def _lot(
    session: Any, vehicle_id: str, item_id: str, batch: str, expiry: dt.date, quantity: int
) -> str:
    lot = Lot(
        item_id=item_id,
        vehicle_id=vehicle_id,
        batch_number=batch,
        expiry_date=expiry,
        created_at=utcnow(),
    )
    session.add(lot)
    session.flush()
    session.add(
        StockMovement(
            vehicle_id=vehicle_id,
            item_id=item_id,
            lot_id=lot.id,
            kind="receipt",
            quantity=quantity,
            actor_id="setup",
            occurred_at=utcnow(),
        )
    )
    return lot.id


def lot_quantity(engine: Engine, lot_id: str) -> int:
    with engine.connect() as connection:
        query = select(func.coalesce(func.sum(StockMovement.quantity), 0)).where(
            StockMovement.lot_id == lot_id
        )
        return int(connection.scalar(query) or 0)


@dataclass
class Clinic:
    """The edge app with one crew member per role and the vehicle's stock."""

    app: Flask
    client: Any
    engine: Engine
    vehicle_id: str
    make_user: Callable[..., Staff]
    stock: dict[str, str]
    crew: dict[str, Staff] = field(default_factory=dict)

    def staff(self, role: str) -> Staff:
        if role not in self.crew:
            self.crew[role] = self.make_user(role)
        return self.crew[role]

    def hire(self, *roles: str) -> None:
        """Make these users now (before a test counts rows, so it does not see them arrive)."""
        for role in roles or [r.value for r in Role]:
            self.staff(role)

    def counts(self) -> dict[str, int]:
        """Row counts of everything but the audit trail (refusals are audited) and the
        accounts (users are made as a test first needs them)."""
        return row_counts(self.engine, ignore=(*AUDIT_TABLES, "user", "user_vehicle"))

    def reads_of(self, patient_id: str) -> int:
        """How many reads of this patient's data the audit trail holds."""
        with self.engine.connect() as connection:
            query = select(func.count()).where(
                AuditRecord.action == "read", AuditRecord.patient_id == patient_id
            )
            return int(connection.scalar(query))

    def call(self, method: str, role: str, path: str, body: Any = None) -> Any:
        headers = self.staff(role).headers
        if body is None:
            return self.client.open(path, method=method, headers=headers)
        return self.client.open(path, method=method, headers=headers, json=body)

    def get(self, role: str, path: str) -> Any:
        return self.call("GET", role, path)

    def post(self, role: str, path: str, body: Any = None) -> Any:
        return self.call("POST", role, path, body if body is not None else {})

    def ok(self, method: str, role: str, path: str, body: Any = None) -> Any:
        response = self.call(method, role, path, body)
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()["data"]

    def register(self, **extra: Any) -> dict[str, Any]:
        return self.ok("POST", "clerk", "/api/patients", patient_fields(**extra))

    def visit_at(self, stage: str, patient: dict[str, Any] | None = None) -> str:
        """A new visit, walked forward through the API to `stage`."""
        patient = patient or self.register()
        visit = self.ok("POST", "clerk", "/api/visits", {"patient_id": patient["id"]})["id"]
        for current in STAGE_ORDER[: STAGE_ORDER.index(stage)]:
            self.complete(visit, current)
        return visit

    def complete(self, visit: str, stage: str) -> dict[str, Any]:
        """Record what `stage` needs and advance past it."""
        if stage == "registration":
            return self.ok("POST", "clerk", f"/api/visits/{visit}/advance")
        if stage == "nursing_assessment":
            self.ok("POST", "nurse", "/api/vital-signs", {"visit_id": visit, "pulse": 72})
            return self.ok("POST", "nurse", f"/api/visits/{visit}/advance")
        if stage == "doctor_consultation":
            self.ok("POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "J06.9"})
            return self.ok("POST", "doctor", f"/api/visits/{visit}/advance")
        body = {"visit_id": visit, "body": "Discussed home care."}
        self.ok("POST", "social_worker", "/api/clinical-notes", body)
        return self.ok("POST", "social_worker", f"/api/visits/{visit}/advance")


@pytest.fixture
def clinic(
    edge_app: Flask,
    edge_client: Any,
    edge_engine: Engine,
    edge_vehicle: str,
    edge_user: Callable[..., Staff],
) -> Clinic:
    stock = stock_formulary(edge_engine, edge_vehicle)
    return Clinic(edge_app, edge_client, edge_engine, edge_vehicle, edge_user, stock)
