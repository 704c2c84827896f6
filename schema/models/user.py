"""People who log in, the vehicles they work on, and per-node login state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from schema.base import ID_LENGTH, Base, SyncedRow, UTCDateTime
from sync.policy import Policy, Scope, synced


class User(SyncedRow, Base):
    """A staff member. Made at the hub (or by an edge administrator in an emergency)."""

    __tablename__ = "user"
    __table_args__ = {
        "info": synced(Policy.SHARED, Scope.USER, "id", local_columns=("totp_secret",))
    }

    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(255), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(24), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class UserVehicle(SyncedRow, Base):
    """Assignment of a user to a vehicle: what lets the user log in on that vehicle."""

    __tablename__ = "user_vehicle"
    __table_args__ = (
        UniqueConstraint("user_id", "vehicle_id"),
        {"info": synced(Policy.REFERENCE, Scope.VEHICLE, "vehicle_id")},
    )

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("user.id"))
    vehicle_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("vehicle.id"), index=True)


class LoginState(Base):
    """Failed attempts and lockout per account and client address (`common.auth.lockout`),
    on this node only: never synced. `user_id` is the account's id, or for a name that is
    no account a stable id made from the name."""

    __tablename__ = "login_state"

    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    client_addr: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)


class WebSession(Base):
    """A revocable browser session behind the session cookie; only a hash is stored."""

    __tablename__ = "web_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The user's standing when it began (`common.auth.standing`): a new password, role or
    # deactivation ends it, here or when the changed user row arrives by sync.
    credentials: Mapped[str | None] = mapped_column(String(64))


class RevokedToken(Base):
    """Token families ended at logout (`common.auth.tokens`: the tokens of one login and
    those refreshed from it share a family id); survives restarts."""

    __tablename__ = "revoked_token"

    family: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class Invite(Base):
    """An invitation for a new staff member to set a password (hub only)."""

    __tablename__ = "invite"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(ID_LENGTH), ForeignKey("user.id"))
    created_by: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
