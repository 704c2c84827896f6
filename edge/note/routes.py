"""The clinical-notes API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok
from common.database import db
from edge.note import service
from edge.note.schemas import NoteIn, NoteOut

bp = Blueprint("notes", __name__)

_out = NoteOut()


@bp.post("/api/clinical-notes")
@endpoint("clinical_notes:write", body=NoteIn, response=NoteOut, status=201)
def write_note(body: dict[str, Any]) -> Any:
    """Write a note on the visit's current stage (nursing, clinical or counseling)."""
    return created(_out.dump(service.write(db.session, current_actor(), body)), "Note saved")


@bp.get("/api/clinical-notes/<visit_id>")
@endpoint("clinical_notes:read", response=NoteOut, many=True)
def visit_notes(visit_id: str) -> Any:
    """A visit's notes, oldest first."""
    return ok(_out.dump(service.for_visit(db.session, current_actor(), visit_id), many=True))
