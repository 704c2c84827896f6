"""The formulary, tariffs, lots and the append-only stock movement ledger."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, Money, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class Item(SyncedRow, Base):
    """A formulary entry: a medicine (with its NAPPI code) or a consumable."""

    __tablename__ = "item"
    __table_args__ = {"info": synced(Policy.REFERENCE, Scope.ALL)}

    nappi_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(160), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    strength: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(24))
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    tariff_price: Mapped[Decimal | None] = mapped_column(Money)
    reorder_level: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Tariff(SyncedRow, Base):
    """A billable procedure or consultation code and its price for claim lines."""

    __tablename__ = "tariff"
    __table_args__ = {"info": synced(Policy.REFERENCE, Scope.ALL)}

    code: Mapped[str] = mapped_column(String(16), unique=True)
    description: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Lot(SyncedRow, Base):
    """A batch of an item held by one vehicle, with its expiry."""

    __tablename__ = "lot"
    __table_args__ = (
        UniqueConstraint("vehicle_id", "item_id", "batch_number"),
        Index("ix_lot_item_expiry", "vehicle_id", "item_id", "expiry_date"),
        {"info": synced(Policy.SHARED, Scope.VEHICLE, "vehicle_id")},
    )

    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("item.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    batch_number: Mapped[str] = mapped_column(String(40))
    expiry_date: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StockMovement(SyncedRow, Base):
    """One entry of the ledger. Quantities on hand are the sum of these, never a stored
    number that could be overwritten by sync."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        Index("ix_stock_movement_item_lot", "vehicle_id", "item_id", "lot_id"),
        Index("ix_stock_movement_lot", "lot_id", "occurred_at"),
        Index("ix_stock_movement_occurred", "occurred_at"),  # fleet reports
        {"info": synced(Policy.APPEND_ONLY, Scope.VEHICLE, "vehicle_id")},
    )

    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("item.id"))
    lot_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("lot.id"))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    reference_type: Mapped[str | None] = mapped_column(String(24))
    reference_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    actor_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class StockLevel(Base):
    """Quantity on hand per lot, maintained from the ledger on each node (never synced)."""

    __tablename__ = "stock_level"

    lot_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("lot.id"), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    item_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
