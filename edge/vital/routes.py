"""The vital-signs API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok
from common.database import db
from edge.vital import service
from edge.vital.schemas import VitalsIn, VitalsOut

bp = Blueprint("vitals", __name__)

_out = VitalsOut()


@bp.post("/api/vital-signs")
@endpoint("vitals:write", body=VitalsIn, response=VitalsOut, status=201)
def record_vitals(body: dict[str, Any]) -> Any:
    """Record vital signs at the nursing assessment; impossible values are refused."""
    vitals = service.record(db.session, current_actor(), body)
    message = (
        "Critical values: an alert was raised" if vitals["alert_id"] else "Vital signs recorded"
    )
    return created(_out.dump(vitals), message)


@bp.get("/api/vital-signs/<visit_id>")
@endpoint("vitals:read", response=VitalsOut, many=True)
def visit_vitals(visit_id: str) -> Any:
    """Every set of vital signs of a visit, oldest first."""
    return ok(_out.dump(service.for_visit(db.session, current_actor(), visit_id), many=True))
