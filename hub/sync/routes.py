"""`/api/sync/*` at the hub: enrollment, the signed exchange, the device registry,
conflicts and quarantine for review; `/api/patients/duplicates` and `/merge`."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, request

from common import audit
from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from common.errors import APIError, BadRequest
from hub.sync import device, duplicate, review
from hub.sync.exchange import hub_exchange, receipt_public_key
from hub.sync.schemas import (
    ConflictOut,
    ConflictQuery,
    ConflictResolve,
    DeviceOut,
    DuplicateOut,
    EnrollIn,
    MergeIn,
    QuarantineOut,
    TokenIn,
)
from sync import wire
from sync.change import ProtocolError
from sync.hub import Device
from sync.protocol import Request
from sync.signing import HEADER_DEVICE
from sync.transport import EXCHANGE_PATH

RETIRE_PATH = "/api/sync/retire"

bp = Blueprint("hub_sync", __name__)


@bp.post("/api/sync/enroll")
@endpoint(public=True, body=EnrollIn)
def enroll(body: dict[str, Any]) -> Any:
    """A laptop redeems a one-time token and registers its node id and public key."""
    enrolled = device.enroll(db.session, **body)
    audit.record(
        db.session,
        audit.Who(None, None, None, request.remote_addr, None, enrolled.vehicle_id),
        "device_enrolled",
        resource_type="device",
        resource_id=enrolled.id,
    )
    db.session.commit()
    data = {
        "device_id": enrolled.id,
        "vehicle_id": enrolled.vehicle_id,
        "hub_node": "hub",
        "receipt_public_key": receipt_public_key(current_app),
    }
    return created(data, "Enrolled")


@bp.post(EXCHANGE_PATH)
@endpoint(public=True, device=True)
def exchange() -> Any:
    """One signed, zstd-compressed sync exchange from a device (docs/sync-protocol.md).
    The reply's Server-Timing header says how long the hub took to answer, so a slow
    sync can be told apart from a slow link."""
    started = time.perf_counter()
    body = request.get_data(cache=False)
    who = _signed_device(EXCHANGE_PATH, body)
    db.session.commit()  # the nonce is spent even if the exchange fails
    exchanger = hub_exchange()
    try:
        message = Request.from_wire(wire.unpack(body), exchanger.chains)
        reply = exchanger.exchange(Device(who.id, who.vehicle_id), message)
    except ProtocolError as error:
        raise BadRequest(f"Malformed sync request: {error}") from None
    level = wire.BULK_LEVEL if reply.snapshot is not None else wire.LEVEL
    packed = wire.pack(reply.to_wire(exchanger.chains), level)
    response = Response(packed, mimetype=wire.CONTENT_TYPE)
    response.headers["Server-Timing"] = f"exchange;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


@bp.post(RETIRE_PATH)
@endpoint(public=True, device=True)
def retire() -> Any:
    """A laptop being wiped says goodbye, signed with its device key: its key is refused
    from now on."""
    who = device.retire(_signed_device(RETIRE_PATH, request.get_data(cache=False)))
    audit.record(
        db.session,
        audit.Who(None, None, None, request.remote_addr, None, who.vehicle_id),
        "device_retired",
        resource_type="device",
        resource_id=who.id,
    )
    db.session.commit()
    return ok({"id": who.id, "status": who.status}, "Device retired")


def _signed_device(path: str, body: bytes) -> Any:
    """The device that signed this request; a refusal is audited apart and re-raised."""
    try:
        return device.authenticate(db.session, request.headers, "POST", path, body)
    except APIError as refusal:
        audit.record_apart(
            db.session,
            audit.Who(None, None, None, request.remote_addr, None, None),
            "access_denied",
            outcome=audit.DENIED,
            resource_type="device",
            resource_id=request.headers.get(HEADER_DEVICE, "")[:32] or None,
            detail={"reason": refusal.message},
        )
        raise


@bp.post("/api/vehicles/<vehicle_id>/enrollment-tokens")
@endpoint("devices:manage", body=TokenIn, body_optional=True, status=201)
def issue_token(vehicle_id: str, body: dict[str, Any]) -> Any:
    """A one-time enrollment token for a laptop of this vehicle (shown once)."""
    actor = current_actor()
    issued = device.issue_in_reach(db.session, actor, vehicle_id, body.get("hours", 72))
    audit.record(
        db.session,
        actor,
        "enrollment_token_issued",
        resource_type="vehicle",
        resource_id=vehicle_id,
    )
    db.session.commit()
    data = {"token": issued.token, "vehicle_id": vehicle_id, "expires_at": issued.expires_at}
    return created(data, "Give this token to the field technician; it works once")


@bp.get("/api/sync/devices")
@endpoint("devices:read", query=ConflictQuery, response=DeviceOut, many=True)
def devices(query: dict[str, Any]) -> Any:
    """Enrolled devices with status, last seen, last sync, clock offset and quarantine."""
    rows, total = device.device_rows(db.session, current_actor(), query["page"], query["per_page"])
    return paginated(DeviceOut().dump(rows, many=True), query["page"], query["per_page"], total)


@bp.post("/api/sync/devices/<device_id>/revoke")
@endpoint("devices:manage")
def revoke(device_id: str) -> Any:
    """Refuse this device from its next request on."""
    return _set_status(device_id, "revoked", "Device revoked")


@bp.post("/api/sync/devices/<device_id>/enable")
@endpoint("devices:manage")
def enable(device_id: str) -> Any:
    """Let a revoked device sync again."""
    return _set_status(device_id, "active", "Device enabled")


def _set_status(device_id: str, status: str, message: str) -> Any:
    changed = device.set_status(db.session, current_actor(), device_id, status)
    audit.record(
        db.session,
        current_actor(),
        f"device_{status}",
        resource_type="device",
        resource_id=device_id,
    )
    db.session.commit()
    return ok({"id": changed.id, "status": changed.status}, message)


@bp.get("/api/sync/conflicts")
@endpoint("sync:read", query=ConflictQuery, response=ConflictOut, many=True)
def conflicts(query: dict[str, Any]) -> Any:
    """Concurrent edits the merge resolved automatically, for a person to review."""
    actor, status, page, per_page = (
        current_actor(),
        query["status"],
        query["page"],
        query["per_page"],
    )
    rows, total = review.conflicts(db.session, actor, status, page, per_page)
    audit.record_read(  # conflict values are clinical (allergies, chronic conditions)
        db.session,
        actor,
        "sync_conflict",
        None,
        detail={"row_ids": sorted({c.row_id for c in rows})},
        action="list",
    )
    return paginated(ConflictOut().dump(rows, many=True), query["page"], query["per_page"], total)


@bp.post("/api/sync/conflicts/<conflict_id>/resolve")
@endpoint("sync:resolve", body=ConflictResolve, response=ConflictOut)
def resolve_conflict(conflict_id: str, body: dict[str, Any]) -> Any:
    """Accept what the sync kept, or put the discarded value (or a chosen list) in its
    place: written as head office's, it reaches every vehicle that holds the record."""
    actor = current_actor()
    choice = review.Choice(body.get("value"), body.get("use") == "discarded")
    conflict = review.resolve(db.session, actor, conflict_id, actor.user_id, choice)
    audit.record(
        db.session,
        actor,
        "sync_conflict_resolved",
        resource_type=conflict.table_name,
        resource_id=conflict.row_id,
    )
    db.session.commit()
    return ok(ConflictOut().dump(conflict), "Conflict resolved")


@bp.get("/api/sync/quarantine")
@endpoint("sync:read", query=ConflictQuery, response=QuarantineOut, many=True)
def quarantine(query: dict[str, Any]) -> Any:
    """Changes from devices that could not be applied, with the reason."""
    rows, total = review.quarantined(
        db.session, current_actor(), query["status"], query["page"], query["per_page"]
    )
    return paginated(QuarantineOut().dump(rows, many=True), query["page"], query["per_page"], total)


@bp.post("/api/sync/quarantine/<held_id>/retry")
@endpoint("sync:resolve", response=QuarantineOut)
def retry_held(held_id: str) -> Any:
    """Apply a held change now, by the rules its device's batches follow (say, once the
    record it needed exists): it comes back resolved, or with why it still cannot."""
    actor = current_actor()
    row = review.retry(db.session, actor, held_id, hub_exchange())
    audit.record(
        db.session, actor, "sync_held_applied", resource_type="sync_quarantine", resource_id=row.id
    )
    db.session.commit()
    message = "Applied" if row.resolved_at is not None else f"Still held: {row.reason}"
    return ok(QuarantineOut().dump(row), message)


@bp.post("/api/sync/quarantine/<held_id>/dismiss")
@endpoint("sync:resolve", response=QuarantineOut)
def dismiss_held(held_id: str) -> Any:
    """Decide a held change is not to be applied; it is kept, resolved by you."""
    actor = current_actor()
    row = review.dismiss(db.session, review.held(db.session, actor, held_id), actor.user_id)
    audit.record(
        db.session,
        actor,
        "sync_held_dismissed",
        resource_type="sync_quarantine",
        resource_id=held_id,
    )
    db.session.commit()
    return ok(QuarantineOut().dump(row), "Dismissed")


@bp.get("/api/patients/duplicates")
@endpoint("patients:merge", query=ConflictQuery, response=DuplicateOut, many=True)
def duplicates(query: dict[str, Any]) -> Any:
    """Pairs of patient records that look like the same person."""
    pairs, total = duplicate.open_pairs(
        db.session, current_actor(), query["page"], query["per_page"]
    )
    return paginated(DuplicateOut().dump(pairs, many=True), query["page"], query["per_page"], total)


@bp.post("/api/patients/merge")
@endpoint("patients:merge", body=MergeIn)
def merge(body: dict[str, Any]) -> Any:
    """Merge the loser into the winner; the merge reaches every vehicle by sync."""
    actor = current_actor()
    winner = duplicate.merge(db.session, actor, body["winner_id"], body["loser_id"], actor.user_id)
    audit.record(
        db.session,
        actor,
        "patient_merged",
        resource_type="patient",
        resource_id=winner.id,
        patient_id=winner.id,
        detail={"loser_id": body["loser_id"]},
    )
    db.session.commit()
    return ok({"winner_id": winner.id, "loser_id": body["loser_id"]}, "Patients merged")


@bp.post("/api/patients/duplicates/<pair_id>/dismiss")
@endpoint("patients:merge")
def dismiss(pair_id: str) -> Any:
    """Not the same person: close the pair."""
    pair = duplicate.dismiss(db.session, current_actor(), pair_id, current_actor().user_id)
    audit.record(
        db.session,
        current_actor(),
        "duplicate_dismissed",
        resource_type="patient",
        resource_id=pair.patient_a_id,
    )
    db.session.commit()
    return ok({"id": pair.id, "status": pair.status}, "Pair dismissed")
