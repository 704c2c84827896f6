"""Supply requests from a vehicle to head office and their fulfilment as deliveries."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced

_VEHICLE_SHARED = synced(Policy.SHARED, Scope.VEHICLE, "vehicle_id")


class SupplyRequest(SyncedRow, Base):
    __tablename__ = "supply_request"
    __table_args__ = (
        Index("ix_supply_request_status", "status", "created_at"),
        {"info": _VEHICLE_SHARED},
    )

    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"), index=True)
    priority: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SupplyRequestLine(SyncedRow, Base):
    __tablename__ = "supply_request_line"
    __table_args__ = {"info": _VEHICLE_SHARED}

    supply_request_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("supply_request.id"), index=True
    )
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("item.id"))
    quantity: Mapped[int] = mapped_column(Integer)


class Delivery(SyncedRow, Base):
    __tablename__ = "delivery"
    __table_args__ = {"info": _VEHICLE_SHARED}

    supply_request_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("supply_request.id"), index=True
    )
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"), index=True)
    supplier_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("supplier.id"))
    carrier: Mapped[str | None] = mapped_column(String(80))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    received_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))


class DeliveryLine(SyncedRow, Base):
    __tablename__ = "delivery_line"
    __table_args__ = {"info": _VEHICLE_SHARED}

    delivery_id: Mapped[str] = mapped_column(
        String(ID_LENGTH), ForeignKey("delivery.id"), index=True
    )
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("item.id"))
    batch_number: Mapped[str] = mapped_column(String(40))
    expiry_date: Mapped[dt.date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
