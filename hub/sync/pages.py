"""Head office's sync pages: the device registry, the duplicate-patient queue with a
side-by-side compare, and the conflicts queue, each of the caller's vehicles (every
vehicle for head office). Buttons call the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from common import audit
from common.access import current_actor
from common.api import endpoint
from common.database import db
from common.permission import permits
from hub.sync import device, duplicate, review
from hub.vehicle import service as vehicles
from schema.models import Patient

bp = Blueprint("sync_pages", __name__, template_folder="../templates")


@bp.get("/devices")
@endpoint("devices:read", page=True)
def devices() -> Any:
    """Enrolled laptops: sync health, the hub's receipt (proof of a full sync), revoke
    (the vehicles and their enrollment tokens are on the vehicles page)."""
    actor = current_actor()
    rows, _ = device.device_rows(db.session, actor, 1, 500)
    return render_template(
        "dashboard/devices.html",
        devices=rows,
        vehicles=vehicles.names(db.session, actor),
        may_manage=permits(actor.role, "devices:manage"),
    )


@bp.get("/duplicates")
@endpoint("patients:merge", page=True)
def duplicates() -> Any:
    """Pairs that look like one person, side by side, with merge and dismiss."""
    actor = current_actor()
    pairs, _ = duplicate.open_pairs(db.session, actor, 1, 200)
    ids = {p.patient_a_id for p in pairs} | {p.patient_b_id for p in pairs}
    patients = {p.id: p for p in db.session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    _audit_list("patient", sorted(ids))
    names = vehicles.names(db.session, actor)
    return render_template(
        "dashboard/duplicates.html", pairs=pairs, patients=patients, vehicles=names
    )


@bp.get("/conflicts")
@endpoint("sync:resolve", page=True)
def conflicts() -> Any:
    """Concurrent edits the sync merged, for review."""
    rows, _ = review.conflicts(db.session, current_actor(), review.OPEN, 1, 200)
    _audit_list("sync_conflict", sorted({c.row_id for c in rows}))
    held, _ = review.quarantined(db.session, current_actor(), review.OPEN, 1, 200)
    return render_template(
        "dashboard/conflicts.html",
        conflicts=rows,
        held=held,
        offsets=review.clock_offsets(db.session),
    )


def _audit_list(resource_type: str, row_ids: list[str]) -> None:
    """Patient data shown on a page is a read like any other."""
    audit.record_read(
        db.session,
        current_actor(),
        resource_type,
        None,
        detail={"row_ids": row_ids},
        action="list",
    )
