"""A patient's visit to a vehicle and its movement through the five stages."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class Visit(SyncedRow, Base):
    """Owned by the vehicle that opened it. `open_day` is set while the visit is open,
    so the unique constraint allows one open visit per patient per day per laptop: two
    laptops of one vehicle that each open one offline keep both (the hub alerts the
    vehicle to close one, `hub/sync/twins.py`) instead of colliding at the hub."""

    __tablename__ = "visit"
    __table_args__ = (
        Index("ix_visit_vehicle_date", "vehicle_id", "visit_date"),
        Index("ix_visit_patient", "patient_id", "visit_date"),
        Index("ix_visit_queue", "vehicle_id", "status", "stage"),
        Index("ix_visit_date_stage", "visit_date", "vehicle_id", "stage"),  # fleet reports
        UniqueConstraint("vehicle_id", "patient_id", "open_day", "origin_node"),
        {"info": synced(Policy.OWNED, Scope.VEHICLE, "vehicle_id")},
    )

    patient_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("patient.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    visit_date: Mapped[dt.date] = mapped_column(Date)
    open_day: Mapped[dt.date | None] = mapped_column(Date)
    stage: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="open")
    appointment_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    location_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("location.id"))
    eligibility_status: Mapped[str | None] = mapped_column(String(16))
    eligibility_verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    counseling_skip_reason: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class VisitTransition(SyncedRow, Base):
    """Who moved a visit from which stage to which, when, and why (append-only)."""

    __tablename__ = "visit_transition"
    __table_args__ = (
        Index("ix_visit_transition_visit", "visit_id", "at"),
        {"info": synced(Policy.APPEND_ONLY, Scope.VEHICLE, "vehicle_id")},
    )

    visit_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("visit.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    from_stage: Mapped[str | None] = mapped_column(String(24))
    to_stage: Mapped[str] = mapped_column(String(24))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    actor_role: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
