"""What is recorded during a visit: vitals, notes, diagnoses, prescriptions, referrals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, JSONText, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class VisitRecord(SyncedRow):
    """Columns shared by everything recorded against a visit on a vehicle."""

    visit_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("visit.id"), index=True)
    patient_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("patient.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))


class VitalSign(VisitRecord, Base):
    __tablename__ = "vital_sign"
    __table_args__ = {"info": synced(Policy.APPEND_ONLY, Scope.VEHICLE, "vehicle_id")}

    recorded_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    systolic: Mapped[int | None] = mapped_column(Integer)
    diastolic: Mapped[int | None] = mapped_column(Integer)
    pulse: Mapped[int | None] = mapped_column(Integer)
    temperature: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    respiratory_rate: Mapped[int | None] = mapped_column(Integer)
    spo2: Mapped[int | None] = mapped_column(Integer)
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    height_cm: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    bmi: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    glucose: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    flags: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)


class ClinicalNote(VisitRecord, Base):
    __tablename__ = "clinical_note"
    __table_args__ = {"info": synced(Policy.APPEND_ONLY, Scope.VEHICLE, "vehicle_id")}

    stage: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(24))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Diagnosis(VisitRecord, Base):
    __tablename__ = "diagnosis"
    __table_args__ = (
        Index("ix_diagnosis_code", "icd10_code"),
        {"info": synced(Policy.OWNED, Scope.VEHICLE, "vehicle_id")},
    )

    icd10_code: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(String(255))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    recorded_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Prescription(VisitRecord, Base):
    __tablename__ = "prescription"
    __table_args__ = {"info": synced(Policy.OWNED, Scope.VEHICLE, "vehicle_id")}

    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("item.id"))
    nappi_code: Mapped[str] = mapped_column(String(16))
    dose: Mapped[str] = mapped_column(String(64))
    frequency: Mapped[str] = mapped_column(String(64))
    duration_days: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer)
    instructions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="prescribed")
    warnings: Mapped[list[str]] = mapped_column(JSONText, default=list)
    prescribed_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    prescribed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    dispensed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    dispensed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Referral(VisitRecord, Base):
    __tablename__ = "referral"
    __table_args__ = (
        Index("ix_referral_vehicle_status", "vehicle_id", "status"),
        {"info": synced(Policy.OWNED, Scope.VEHICLE, "vehicle_id")},
    )

    kind: Mapped[str] = mapped_column(String(16))
    facility: Mapped[str] = mapped_column(String(160))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
