"""Equipment on a vehicle, its maintenance, and the suppliers it comes from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class Supplier(SyncedRow, Base):
    __tablename__ = "supplier"
    __table_args__ = {"info": synced(Policy.SHARED, Scope.ALL)}

    name: Mapped[str] = mapped_column(String(160), unique=True)
    contact_name: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(255))


class Asset(SyncedRow, Base):
    __tablename__ = "asset"
    __table_args__ = (
        # per vehicle (equipment moves between vehicles); the id is named by this key
        # (`schema.rowid.named_id`), so two laptops of one vehicle make one row
        UniqueConstraint("vehicle_id", "serial_number"),
        {"info": synced(Policy.SHARED, Scope.VEHICLE, "vehicle_id")},
    )

    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"), index=True)
    supplier_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("supplier.id"))
    name: Mapped[str] = mapped_column(String(160))
    serial_number: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default="in_service")
    acquired_on: Mapped[dt.date | None] = mapped_column(Date)
    maintenance_interval_days: Mapped[int | None] = mapped_column(Integer)
    next_maintenance_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MaintenanceRecord(SyncedRow, Base):
    __tablename__ = "maintenance_record"
    __table_args__ = {"info": synced(Policy.APPEND_ONLY, Scope.VEHICLE, "vehicle_id")}

    asset_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("asset.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    kind: Mapped[str] = mapped_column(String(24))
    notes: Mapped[str | None] = mapped_column(Text)
    performed_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    performed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
