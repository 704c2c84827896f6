"""The referrals API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.referral import service
from edge.referral.schemas import ReferralIn, ReferralOut, ReferralQuery, StatusIn

bp = Blueprint("referrals", __name__)

_out = ReferralOut()


@bp.post("/api/referrals")
@endpoint("referrals:write", body=ReferralIn, response=ReferralOut, status=201)
def refer(body: dict[str, Any]) -> Any:
    """Refer a patient on, with the facility, reason and urgency."""
    return created(_out.dump(service.refer(db.session, current_actor(), body)), "Referral made")


@bp.get("/api/referrals")
@endpoint("referrals:read", query=ReferralQuery, response=ReferralOut, many=True)
def list_referrals(query: dict[str, Any]) -> Any:
    """This vehicle's referrals, newest first."""
    page, per_page = query.pop("page"), query.pop("per_page")
    found, total = service.search(db.session, current_actor(), query, page, per_page)
    return paginated(_out.dump(found, many=True), page, per_page, total)


@bp.post("/api/referrals/<referral_id>/status")
@endpoint("referrals:write", body=StatusIn, response=ReferralOut)
def referral_status(referral_id: str, body: dict[str, Any]) -> Any:
    """Follow a referral up: sent, completed or cancelled."""
    referral = service.set_status(db.session, current_actor(), referral_id, body["status"])
    return ok(_out.dump(referral), f"Referral {body['status']}")
