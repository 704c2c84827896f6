"""A vehicle's planned days: routes of ordered stops, slots at each stop, appointments."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced

# Routes, their stops and slots are planned at head office and only read on the vehicle;
# appointments are booked on the vehicle (or at head office) and merged by field.
_PLANNED = synced(Policy.REFERENCE, Scope.VEHICLE, "vehicle_id")
_VEHICLE_SHARED = synced(Policy.SHARED, Scope.VEHICLE, "vehicle_id")


class Route(SyncedRow, Base):
    __tablename__ = "route"
    __table_args__ = (
        Index("ix_route_vehicle_date", "vehicle_id", "route_date"),
        {"info": _PLANNED},
    )

    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    route_date: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    created_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RouteStop(SyncedRow, Base):
    __tablename__ = "route_stop"
    __table_args__ = (UniqueConstraint("route_id", "sequence"), {"info": _PLANNED})

    route_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("route.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    location_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("location.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    arrival_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    departure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AppointmentSlot(SyncedRow, Base):
    __tablename__ = "appointment_slot"
    __table_args__ = (
        Index("ix_appointment_slot_stop", "route_stop_id", "starts_at"),
        {"info": _PLANNED},
    )

    route_stop_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("route_stop.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int] = mapped_column(Integer)


class Appointment(SyncedRow, Base):
    __tablename__ = "appointment"
    __table_args__ = (
        Index("ix_appointment_slot_status", "slot_id", "status"),
        Index("ix_appointment_patient", "patient_id"),
        {"info": _VEHICLE_SHARED},
    )

    slot_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("appointment_slot.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    patient_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("patient.id"))
    status: Mapped[str] = mapped_column(String(16), default="booked")
    reason: Mapped[str | None] = mapped_column(Text)
    booked_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    booked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
