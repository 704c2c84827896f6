"""One alerts model for clinical, stock, maintenance, sync and claim events."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced

# Alert priorities, least urgent first: the order raising, sorting and escalation compare by.
PRIORITIES = ("low", "medium", "high", "critical")


class Alert(SyncedRow, Base):
    """`dedupe_key` stops a recurring condition (a lot nearing expiry) raising twice."""

    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_open", "vehicle_id", "status", "priority"),
        Index("ix_alert_dedupe", "vehicle_id", "dedupe_key"),
        {"info": synced(Policy.SHARED, Scope.VEHICLE, "vehicle_id")},
    )

    vehicle_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    kind: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="active")
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AlertEscalation(SyncedRow, Base):
    __tablename__ = "alert_escalation"
    __table_args__ = {"info": synced(Policy.APPEND_ONLY, Scope.VEHICLE, "vehicle_id")}

    alert_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("alert.id"), index=True)
    vehicle_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    from_level: Mapped[int] = mapped_column(Integer)
    to_level: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
