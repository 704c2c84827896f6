"""Devices: one-time enrollment tokens, enrollment, revocation, and the check that a
sync request really comes from an enrolled, active device and is not a replay."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.access import Actor
from common.errors import APIError, BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from hub.scope import Reach, owned, reach
from schema.base import new_id, utcnow
from schema.models import (
    Device,
    EnrollmentToken,
    SyncInbox,
    SyncLink,
    SyncNonce,
    SyncQuarantine,
    Vehicle,
)
from sync import scope, signing
from sync.clock import wall_millis

TOKEN_HOURS = 72
SIGNATURE_WINDOW_MS = 5 * 60 * 1000
_DEVICE_ID = re.compile(r"^d[0-9a-z]{12}$")


@dataclass(frozen=True)
class IssuedToken:
    token: str
    vehicle_id: str
    expires_at: dt.datetime


def issue_token(
    session: Session, vehicle_id: str, created_by: str | None, hours: int = TOKEN_HOURS
) -> IssuedToken:
    """A one-time token for enrolling one laptop as `vehicle_id`; only its hash is kept."""
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise NotFound("No such vehicle")
    if vehicle.status != "active":
        raise Conflict("This vehicle is not active")
    token = secrets.token_urlsafe(24)
    expires = utcnow() + dt.timedelta(hours=hours)
    session.add(
        EnrollmentToken(
            id=new_id(),
            token_hash=_hash(token),
            vehicle_id=vehicle_id,
            created_by=created_by,
            created_at=utcnow(),
            expires_at=expires,
        )
    )
    return IssuedToken(token, vehicle_id, expires)


def issue_in_reach(session: Session, actor: Actor, vehicle_id: str, hours: int) -> IssuedToken:
    """A token for a vehicle in the actor's reach (another vehicle's is a 404)."""
    owned(session, Vehicle, vehicle_id, reach(session, actor), "vehicle", vehicle_of="id")
    return issue_token(session, vehicle_id, actor.user_id, hours)


def enroll(
    session: Session,
    token: str,
    device_id: str,
    public_key: str,
    name: str,
    app_version: str,
    key_escrow: str | None = None,
) -> Device:
    """Redeem a token: register the laptop's node id and public key for the token's vehicle.
    A retired device comes back (new key, same change history) when its backup is restored
    onto a laptop and enrolled with a new token for the same vehicle."""
    if not _DEVICE_ID.match(device_id):
        raise BadRequest("device_id must be this laptop's node id (d + 12 letters or digits)")
    try:
        signing.load_public_key(public_key)
    except signing.SignatureError:
        raise BadRequest("public_key is not an Ed25519 public key") from None
    row = session.scalar(
        select(EnrollmentToken).where(EnrollmentToken.token_hash == _hash(token)).with_for_update()
    )
    if row is None:
        raise Forbidden(
            "This enrollment token is unknown (mistyped?); check it or ask for a new one"
        )
    if row.used_at is not None:
        raise Forbidden("This enrollment token was already used; ask head office for a new one")
    if row.expires_at <= utcnow():
        raise Forbidden("This enrollment token has expired; ask head office for a new one")
    now = utcnow()
    known = session.get(Device, device_id)
    if known is not None:
        if known.status != "retired" or known.vehicle_id != row.vehicle_id:
            raise Conflict("A device with this node id is already enrolled")
        row.used_at, row.used_by_device = now, device_id
        known.public_key, known.name, known.status = public_key, name, "active"
        known.retired_at, known.enrolled_at = None, now
        known.app_version = app_version or None
        known.key_escrow = key_escrow or known.key_escrow
        return known
    row.used_at, row.used_by_device = now, device_id
    device = Device(
        id=device_id,
        vehicle_id=row.vehicle_id,
        name=name,
        public_key=public_key,
        status="active",
        enrolled_at=now,
        app_version=app_version or None,
        key_escrow=key_escrow,
    )
    session.add(device)
    session.add(SyncLink(peer=device_id, pushed_seq=0, pull_cursor=0, scope_seq=0, digest=""))
    return device


def set_status(session: Session, who: Actor | Reach, device_id: str, status: str) -> Device:
    """Revoke (refused from its next request) or re-enable a device of a vehicle in reach."""
    device = owned(session, Device, device_id, reach(session, who), "device")
    device.status = status
    device.revoked_at = utcnow() if status == "revoked" else None
    return device


def retire(device: Device) -> Device:
    """The laptop was wiped: refuse its key from now on, and show it as retired."""
    device.status = "retired"
    device.retired_at = utcnow()
    return device


def authenticate(session: Session, headers: Any, method: str, path: str, body: bytes) -> Device:
    """The device that signed this request; refuses unknown, revoked, stale, tampered and
    replayed requests. The nonce is committed at once, so a replay is refused even when
    the original request later fails."""
    device_id = headers.get(signing.HEADER_DEVICE, "")
    timestamp = headers.get(signing.HEADER_TIMESTAMP, "")
    nonce = headers.get(signing.HEADER_NONCE, "")
    signature = headers.get(signing.HEADER_SIGNATURE, "")
    if not (device_id and timestamp.isdigit() and 16 <= len(nonce) <= 64 and signature):
        raise Unauthorized("This sync request is not signed by a device")
    device = session.get(Device, device_id[:32])
    if device is None:
        raise Unauthorized("Unknown device: enroll this laptop first")
    if device.status != "active":
        raise Forbidden(f"This device has been {device.status}; contact head office")
    now = wall_millis()
    if abs(now - int(timestamp)) > SIGNATURE_WINDOW_MS:
        raise APIError(
            "The request's clock is outside the hub's window",
            status=401,
            details={"hub_time": now},
        )
    try:
        signing.verify_request(device.public_key, method, path, body, timestamp, nonce, signature)
    except signing.SignatureError:
        raise Unauthorized("The request signature does not verify") from None
    _spend_nonce(session, device.id, nonce)
    return device


def _spend_nonce(session: Session, device_id: str, nonce: str) -> None:
    now = utcnow()
    try:
        with session.begin_nested():
            session.add(
                SyncNonce(
                    device_id=device_id,
                    nonce=nonce,
                    expires_at=now + dt.timedelta(milliseconds=2 * SIGNATURE_WINDOW_MS),
                )
            )
    except IntegrityError:
        raise Unauthorized("This request was already received (replay refused)") from None
    session.execute(delete(SyncNonce).where(SyncNonce.expires_at < now))


def device_rows(
    session: Session, who: Actor | Reach, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Devices of the vehicles in reach with their sync health, for the registry and the
    dashboard."""
    query = reach(session, who).where(select(Device), Device.vehicle_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    devices = session.scalars(
        query.order_by(Device.enrolled_at.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return [_device_row(session, device) for device in devices], total


def _device_row(session: Session, device: Device) -> dict[str, Any]:
    link = session.get(SyncLink, device.id)
    quarantined = session.scalar(
        select(func.count())
        .select_from(SyncQuarantine)
        .where(SyncQuarantine.peer == device.id, SyncQuarantine.resolved_at.is_(None))
    )
    return {
        "id": device.id,
        "vehicle_id": device.vehicle_id,
        "name": device.name,
        "status": device.status,
        "enrolled_at": device.enrolled_at,
        "revoked_at": device.revoked_at,
        "last_seen_at": device.last_seen_at,
        "last_sync_at": device.last_sync_at,
        "clock_offset_ms": device.clock_offset_ms,
        "app_version": device.app_version,
        "acknowledged_through": link.pushed_seq if link else 0,
        "receipt_digest": link.digest if link else "",
        "quarantined": quarantined or 0,
        "pending": _pending(session, device, link.pull_cursor if link else 0),
        "stored": _stored(session, device),
    }


def _stored(session: Session, device: Device) -> int:
    """Changes the device pushed that the hub has stored and not applied yet."""
    waiting = session.scalar(
        select(func.sum(SyncInbox.change_count)).where(
            SyncInbox.peer == device.id, SyncInbox.applied_at.is_(None)
        )
    )
    return int(waiting or 0)


def _pending(session: Session, device: Device, cursor: int) -> int:
    """Changes the hub holds for the device that it has not pulled yet."""
    who = scope.Subscriber(device.id, device.vehicle_id)
    return scope.pending(session.connection(), who, cursor)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
