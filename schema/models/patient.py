"""Patients: shared across vehicles, merged field by field when edited on several."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, JSONText, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class Patient(SyncedRow, Base):
    __tablename__ = "patient"
    __table_args__ = (
        Index("ix_patient_name", "last_name", "first_name"),
        Index("ix_patient_first_name", "first_name"),
        Index("ix_patient_medical_aid", "medical_aid_number", "dependant_code"),
        Index("ix_patient_birth_name", "date_of_birth", "last_name"),
        {
            "info": synced(
                Policy.SHARED,
                Scope.PATIENT,
                "id",
                union_columns=("allergies", "chronic_conditions"),
                hub_columns=("member_status", "member_verified_at", "merged_into_id"),
                home_column="registered_vehicle_id",
            )
        },
    )

    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    id_number: Mapped[str | None] = mapped_column(String(13), index=True)
    passport_number: Mapped[str | None] = mapped_column(String(20), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(Text)
    province_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("province.id"))
    language: Mapped[str | None] = mapped_column(String(32))
    medical_aid_number: Mapped[str | None] = mapped_column(String(20))
    dependant_code: Mapped[str | None] = mapped_column(String(3))
    member_status: Mapped[str] = mapped_column(String(16), default="unverified")
    member_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    allergies: Mapped[list[str]] = mapped_column(JSONText, default=list)
    chronic_conditions: Mapped[list[str]] = mapped_column(JSONText, default=list)
    medical_history: Mapped[str | None] = mapped_column(Text)
    emergency_contact_name: Mapped[str | None] = mapped_column(String(120))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="active")
    merged_into_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    registered_vehicle_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PatientDuplicate(Base):
    """A pair of patient records the hub believes are the same person (hub only)."""

    __tablename__ = "patient_duplicate"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    patient_a_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("patient.id"))
    patient_b_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("patient.id"))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    detected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
