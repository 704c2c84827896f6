"""The crew's clinical pages: today's queue, patient search and registration, the visit
page with one panel per stage, and the vehicle's claims. Server-rendered; the forms post
to the JSON API through `clinic.js`, so every rule is the API's."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from common.access import current_actor
from common.api import endpoint
from common.clinicday import CLINIC_ZONE
from common.database import db
from common.permission import permits
from edge.claim import service as claims
from edge.diagnosis import service as diagnoses
from edge.note import service as notes
from edge.patient import service as patients
from edge.prescription import service as prescriptions
from edge.referral import service as referrals
from edge.referral.schemas import KINDS, URGENCIES
from edge.visit import service as visits
from edge.visit import workflow
from edge.vital import ranges
from edge.vital import service as vitals

bp = Blueprint(
    "clinic_pages",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static/clinic",
)

SEARCH_PAGE_SIZE = 25


@bp.get("/queue")
@endpoint("visits:read", page=True)
def queue() -> Any:
    """Who waits at which stage right now."""
    stages = visits.queue(db.session, current_actor())
    return render_template(
        "clinic/queue.html", stages=stages, labels=workflow.LABELS, zone=CLINIC_ZONE
    )


@bp.get("/patients")
@endpoint("patients:read", page=True)
def patients_page() -> Any:
    """Find a patient, or register a new one, and start their visit."""
    q = (request.args.get("q") or "").strip()[:80]
    actor = current_actor()
    found, total = (
        patients.search(db.session, actor, q, "active", 1, SEARCH_PAGE_SIZE) if q else ([], 0)
    )
    return render_template(
        "clinic/patients.html",
        q=q,
        found=found,
        total=total,
        can_register=permits(actor.role, "patients:write"),
        can_open=workflow.may_act(actor.role, workflow.REGISTRATION),
    )


@bp.get("/visits/<visit_id>")
@endpoint("visits:read", page=True)
def visit_page(visit_id: str) -> Any:
    """A visit, one panel per stage; the current stage's panel takes input."""
    actor = current_actor()
    visit = visits.get(db.session, actor, visit_id)
    clinical = permits(actor.role, "clinical_notes:read")
    return render_template(
        "clinic/visit.html",
        visit=visit,
        stages=workflow.STAGES,
        labels=workflow.LABELS,
        acts=workflow.may_act(actor.role, visit["stage"]) and visit["status"] == workflow.OPEN,
        is_admin=actor.role == "administrator",
        can_dispense=permits(actor.role, "prescriptions:dispense"),
        vitals=vitals.for_visit(db.session, actor, visit_id)
        if permits(actor.role, "vitals:read")
        else [],
        notes=notes.for_visit(db.session, actor, visit_id) if clinical else [],
        diagnoses=diagnoses.for_visit(db.session, actor, visit_id) if clinical else [],
        prescriptions=prescriptions.for_visit(db.session, actor, visit_id) if clinical else [],
        referrals=_referrals(actor, visit_id),
        formulary=_formulary(actor, visit),
        eligibility=patients.eligibility(
            visit["eligibility_status"] or "unverified", visit["eligibility_verified_at"]
        ),
        claim_meaning=claims.MEANING.get(visit["claim"]["status"], "") if visit["claim"] else "",
        ranges=ranges.RANGES,
        referral_kinds=KINDS,
        urgencies=URGENCIES,
        zone=CLINIC_ZONE,
    )


@bp.get("/claims")
@endpoint("visits:read", page=True)
def claims_page() -> Any:
    """The vehicle's claims: their status at PALMED and, when rejected or held, why."""
    status = request.args.get("status") or None
    return render_template(
        "clinic/claims.html",
        claims=claims.for_vehicle(db.session, current_actor(), status),
        status=status,
        meanings=claims.MEANING,
    )


def _formulary(actor: Any, visit: dict[str, Any]) -> list[dict[str, Any]]:
    """The medicines to pick from, only where the prescription form is shown."""
    if visit["stage"] != workflow.CONSULTATION or not permits(actor.role, "prescriptions:write"):
        return []
    items, _ = prescriptions.formulary(db.session, actor, None, 1, 100)
    return items


def _referrals(actor: Any, visit_id: str) -> list[dict[str, Any]]:
    if not permits(actor.role, "referrals:read"):
        return []
    found, _ = referrals.search(db.session, actor, {"visit_id": visit_id}, 1, 100)
    return found
