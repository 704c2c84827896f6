"""The visits API: opening a visit, reading and editing it, and the stage actions."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok
from common.database import db
from edge.visit import service
from edge.visit.schemas import (
    AdvanceIn,
    QueueEntryOut,
    ReasonIn,
    VisitCreate,
    VisitOut,
    VisitUpdate,
)

bp = Blueprint("visits", __name__)

_out = VisitOut()
_queue = QueueEntryOut(many=True)


@bp.post("/api/visits")
@endpoint("visits:write", body=VisitCreate, response=VisitOut, status=201)
def open_visit(body: dict[str, Any]) -> Any:
    """Open today's visit for a patient, at registration."""
    return created(_out.dump(service.open_visit(db.session, current_actor(), body)), "Visit opened")


@bp.get("/api/visits/queue")
@endpoint("visits:read")
def visit_queue() -> Any:
    """Who waits at which stage right now, longest waiting first."""
    stages = service.queue(db.session, current_actor())
    return ok({stage: _queue.dump(entries) for stage, entries in stages.items()})


@bp.get("/api/visits/<visit_id>")
@endpoint("visits:read", response=VisitOut)
def get_visit(visit_id: str) -> Any:
    """A visit with its stages (who and when) and, once closed, its claim draft."""
    return ok(_out.dump(service.get(db.session, current_actor(), visit_id)))


@bp.put("/api/visits/<visit_id>")
@endpoint("visits:write", body=VisitUpdate, response=VisitOut)
def update_visit(visit_id: str, body: dict[str, Any]) -> Any:
    """Change an open visit's summary or location."""
    return ok(
        _out.dump(service.update(db.session, current_actor(), visit_id, body)), "Visit updated"
    )


@bp.post("/api/visits/<visit_id>/advance")
@endpoint("visits:write", body=AdvanceIn, body_optional=True, response=VisitOut)
def advance_visit(visit_id: str, body: dict[str, Any]) -> Any:
    """Finish the current stage; from counseling this closes the visit and drafts its claim."""
    visit = service.advance(db.session, current_actor(), visit_id, body.get("skip_reason"))
    return ok(_out.dump(visit), f"Visit moved to {visit['stage_label'].lower()}")


@bp.post("/api/visits/<visit_id>/back")
@endpoint("visits:reopen", body=ReasonIn, response=VisitOut)
def move_visit_back(visit_id: str, body: dict[str, Any]) -> Any:
    """Move a visit back one stage (administrator, with a reason)."""
    visit = service.move_back(db.session, current_actor(), visit_id, body["reason"])
    return ok(_out.dump(visit), "Visit moved back")


@bp.post("/api/visits/<visit_id>/reopen")
@endpoint("visits:reopen", body=ReasonIn, response=VisitOut)
def reopen_visit(visit_id: str, body: dict[str, Any]) -> Any:
    """Reopen a closed visit (administrator, with a reason)."""
    visit = service.reopen(db.session, current_actor(), visit_id, body["reason"])
    return ok(_out.dump(visit), "Visit reopened")
