"""The vehicle's claims as the crew follows them: what became of each at PALMED and why.

Claims are drafted here when a visit closes; from then on head office (the hub) writes
their status, PALMED's reason codes and payment onto them, and the sync brings that back.
This module only reads: the crew cannot change a claim once it has left the vehicle. A
reopened visit's claim is withdrawn and the next closure's claim supersedes it; each
claim shows the chain (the claim it supersedes, the claim that superseded it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from common import audit
from common.access import Actor
from common.errors import BadRequest
from edge.scope import vehicle_of
from schema.models import Claim, Patient

# What each status means to the crew, in the words the pages show.
MEANING = {
    "ready": "Complete: goes to PALMED through head office after the next sync",
    "needs_attention": "Held: not sent to PALMED until it is corrected",
    "draft": "Waiting at head office",
    "queued": "Waiting at head office",
    "submitted": "Sent to PALMED: waiting for its answer",
    "accepted": "Accepted by PALMED",
    "rejected": "Rejected by PALMED: head office finance can correct and resubmit it",
    "paid": "Paid by PALMED",
    "withdrawn": "Taken back when the visit was reopened: never sent as it is",
    "reversing": "Replaced by a correction: head office is reversing it at PALMED",
    "reversed": "Reversed at PALMED: the correction that replaced it stands instead",
}
NEWEST = 200  # the claims page shows the most recently changed ones


def for_vehicle(session: Session, actor: Actor, status: str | None = None) -> list[dict[str, Any]]:
    """This vehicle's claims, most recently changed first, with each patient's name."""
    if status is not None and status not in MEANING:
        choices = ", ".join(MEANING)
        raise BadRequest("Invalid input", details={"status": [f"Must be one of: {choices}"]})
    newer = aliased(Claim)
    query = (
        select(Claim, Patient.first_name, Patient.last_name, newer.id)
        .join(Patient, Patient.id == Claim.patient_id)
        .outerjoin(newer, newer.supersedes_id == Claim.id)
        .where(Claim.vehicle_id == vehicle_of(actor))
        .order_by(Claim.updated_at.desc(), Claim.id.desc())
        .limit(NEWEST)
    )
    if status is not None:
        query = query.where(Claim.status == status)
    found = [
        {
            "claim": claim,
            "patient": f"{first} {last}",
            "meaning": MEANING.get(claim.status, ""),
            "superseded_by": superseded_by,
        }
        for claim, first, last, superseded_by in session.execute(query)
    ]
    detail = {"status": status, "shown": len(found)}
    audit.record_read(session, actor, "claim", None, action="list", detail=detail)
    return found
