"""`/api/claims` for finance, and `POST /api/sync/palmed` (seed 003): thin over the service."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from common.access import current_actor
from common.api import endpoint, ok, paginated
from common.clinicday import clinic_day
from common.database import db
from hub.claims import service
from hub.claims.schemas import ClaimDetailOut, ClaimOut, ClaimQuery, Correction, RunOut
from schema.base import utcnow

bp = Blueprint("claims", __name__)

_claim, _detail = ClaimOut(), ClaimDetailOut()


@bp.get("/api/claims")
@endpoint("claims:read", query=ClaimQuery, response=ClaimOut, many=True)
def list_claims(query: dict[str, Any]) -> Any:
    """Claims of every vehicle, most recently changed first, by status, vehicle and visit;
    each names the claim it supersedes and the one that superseded it."""
    page, per_page = query.pop("page"), query.pop("per_page")
    wanted = service.ClaimFilter(**query)
    claims, total = service.listing(db.session, current_actor(), wanted, page, per_page)
    return paginated(_claim.dump(claims, many=True), page, per_page, total)


@bp.get("/api/claims/<claim_id>")
@endpoint("claims:read", response=ClaimDetailOut)
def get_claim(claim_id: str) -> Any:
    """A claim with its lines, its chain of corrections, every call made to PALMED (its
    submission and any reversal) and the resubmission deadline."""
    return ok(_detail.dump(service.detail(db.session, current_actor(), claim_id)))


@bp.post("/api/claims/<claim_id>/resubmit")
@endpoint("claims:submit", body=Correction, body_optional=True, response=ClaimDetailOut)
def resubmit_claim(claim_id: str, body: dict[str, Any]) -> Any:
    """Correct a rejected claim (within 60 days) or a held one, and queue it again."""
    claim = service.resubmit(db.session, current_actor(), claim_id, body, clinic_day(utcnow()))
    return ok(_detail.dump(claim), "Claim queued for PALMED")


@bp.post("/api/sync/palmed")
@endpoint("claims:submit", response=RunOut)
def sync_palmed() -> Any:
    """Run the PALMED pipeline now: submit due claims, learn payments and member statuses."""
    client = service.client_for(current_app.config)
    with client:
        report = service.synchronise(
            db.session, current_actor(), db.engine, client, clinic_day(utcnow())
        )
    return ok(RunOut().dump(report), "PALMED synchronised")
