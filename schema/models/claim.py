"""Medical-aid claims drafted at visit closure and pushed to PALMED by the hub."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from schema.base import ID_LENGTH, Base, JSONText, Money, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced

# The states in which the vehicle that drafted a claim may still change it (or its lines):
# until the hub sends it to PALMED. From `submitted` on, the hub alone moves it on.
DEVICE_STATES = ("draft", "ready", "queued", "needs_attention", "withdrawn")


class Claim(SyncedRow, Base):
    """Drafted by the vehicle; status and corrections come from the hub (shared, by field).

    A visit has one claim per closure: reopening it withdraws its claim (never deletes
    it) and closing it again drafts a new one that names the claim it `supersedes`."""

    __tablename__ = "claim"
    __table_args__ = (
        Index("ix_claim_status", "status", "updated_at"),
        Index("ix_claim_vehicle_date", "vehicle_id", "service_date"),
        Index("ix_claim_service_date", "service_date", "status"),  # fleet reports
        {
            "info": synced(
                Policy.SHARED,
                Scope.VEHICLE,
                "vehicle_id",
                hub_columns=("palmed_claim_id", "rejection_codes", "paid_amount"),
                open_while=("status", DEVICE_STATES),
            )
        },
    )

    visit_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("visit.id"), index=True)
    supersedes_id: Mapped[str | None] = mapped_column(
        String(ID_LENGTH), ForeignKey("claim.id"), index=True
    )
    patient_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("patient.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    member_number: Mapped[str | None] = mapped_column(String(20))
    dependant_code: Mapped[str | None] = mapped_column(String(3))
    practice_number: Mapped[str | None] = mapped_column(String(20))
    service_date: Mapped[dt.date] = mapped_column(Date)
    icd10_codes: Mapped[list[str]] = mapped_column(JSONText, default=list)
    total_amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(24))
    problems: Mapped[list[str]] = mapped_column(JSONText, default=list)
    palmed_claim_id: Mapped[str | None] = mapped_column(String(64))
    rejection_codes: Mapped[list[str]] = mapped_column(JSONText, default=list)
    paid_amount: Mapped[Decimal | None] = mapped_column(Money)
    created_by: Mapped[str] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # who took the claim back, when and why (the reopen's reason)
    withdrawn_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)


class ClaimLine(SyncedRow, Base):
    __tablename__ = "claim_line"
    __table_args__ = {
        "info": synced(Policy.SHARED, Scope.VEHICLE, "vehicle_id", sealed_by="claim_id")
    }

    claim_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("claim.id"), index=True)
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"))
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)


class PalmedCall:
    """The hub's exactly-once bookkeeping for one call about one claim at PALMED: the
    idempotency key is stored before the first attempt, so every retry reuses it, and
    `locked_until` is the lease of the process working on it (`hub.claims.lease`)."""

    @declared_attr
    def claim_id(cls) -> Mapped[str]:
        return mapped_column(String(ID_LENGTH), ForeignKey("claim.id"), primary_key=True)

    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ClaimSubmission(PalmedCall, Base):
    """The submission of a claim to PALMED (hub only)."""

    __tablename__ = "claim_submission"
    __table_args__ = (Index("ix_claim_submission_due", "state", "next_attempt_at"),)


class ClaimReversal(PalmedCall, Base):
    """The reversal at PALMED of a claim a correction replaces (hub only): asked for when
    the correction arrives, made before the correction is submitted."""

    __tablename__ = "claim_reversal"
    __table_args__ = (Index("ix_claim_reversal_due", "state", "next_attempt_at"),)

    corrected_by_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("claim.id"))
    palmed_reversal_id: Mapped[str | None] = mapped_column(String(64))


class ClaimAttempt(Base):
    """Every call made to PALMED for a claim and what came back (hub only, append-only)."""

    __tablename__ = "claim_attempt"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    claim_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("claim.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="submission", server_default="submission")
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(24))
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)
