"""Provinces and the locations (stops) where vehicles hold clinics."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow
from sync.policy import Policy, Scope, synced


class Province(SyncedRow, Base):
    __tablename__ = "province"
    __table_args__ = {"info": synced(Policy.REFERENCE, Scope.ALL)}

    code: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class Location(SyncedRow, Base):
    __tablename__ = "location"
    __table_args__ = {"info": synced(Policy.REFERENCE, Scope.ALL)}

    province_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("province.id"))
    name: Mapped[str] = mapped_column(String(120), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
