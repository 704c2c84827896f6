"""Vehicles (clinics) and the devices (edge nodes) enrolled to run them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, NODE_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class Vehicle(SyncedRow, Base):
    """A mobile clinic: the unit that owns visits, stock and routes."""

    __tablename__ = "vehicle"
    __table_args__ = {"info": synced(Policy.REFERENCE, Scope.VEHICLE, "id")}

    name: Mapped[str] = mapped_column(String(120), unique=True)
    registration_plate: Mapped[str] = mapped_column(String(20), unique=True)
    province_id: Mapped[str | None] = mapped_column(String(ID_LENGTH), ForeignKey("province.id"))
    practice_number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(16), default="active")


class Device(Base):
    """A laptop enrolled as a vehicle's edge node. Hub-only: credentials never sync."""

    __tablename__ = "device"

    id: Mapped[str] = mapped_column(String(NODE_LENGTH), primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    public_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="active")
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    clock_offset_ms: Mapped[int | None] = mapped_column(Integer)
    app_version: Mapped[str | None] = mapped_column(String(32))
    key_escrow: Mapped[str | None] = mapped_column(Text)


class EnrollmentToken(Base):
    """A one-time token that lets one laptop enroll as a given vehicle's device."""

    __tablename__ = "enrollment_token"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by_device: Mapped[str | None] = mapped_column(String(NODE_LENGTH))
