"""Minimal valid rows of synced tables, for tests of the sync machinery."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy.orm import Session

from schema.base import utcnow
from schema.models import Patient, Province, Vehicle


def province(session: Session, **extra: Any) -> Province:
    row = Province(code=extra.pop("code", secrets.token_hex(3)), name="Gauteng", **extra)
    session.add(row)
    session.flush()
    return row


def vehicle(session: Session, **extra: Any) -> Vehicle:
    suffix = secrets.token_hex(4)  # row ids share their tail within a process
    row = Vehicle(
        name=extra.pop("name", f"Clinic {suffix}"),
        registration_plate=extra.pop("registration_plate", f"GP {suffix}"),
        practice_number=extra.pop("practice_number", "0123456"),
        **extra,
    )
    session.add(row)
    session.flush()
    return row


def patient(session: Session, **extra: Any) -> Patient:
    now = utcnow()
    values: dict[str, Any] = {
        "first_name": "Thandi",
        "last_name": "Mokoena",
        "date_of_birth": dt.date(1985, 3, 14),
        "sex": "F",
        "allergies": [],
        "chronic_conditions": [],
        "created_at": now,
        "updated_at": now,
    }
    values.update(extra)
    row = Patient(**values)
    session.add(row)
    session.flush()
    return row
