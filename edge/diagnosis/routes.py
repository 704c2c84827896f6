"""The diagnoses API and the ICD-10 picker's search."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.diagnosis import icd10, service
from edge.diagnosis.schemas import CodeOut, CodeQuery, DiagnosisIn, DiagnosisOut

bp = Blueprint("diagnoses", __name__)

_out = DiagnosisOut()


@bp.post("/api/diagnoses")
@endpoint("diagnoses:write", body=DiagnosisIn, response=DiagnosisOut, status=201)
def record_diagnosis(body: dict[str, Any]) -> Any:
    """Record an ICD-10 diagnosis during the doctor's consultation."""
    return created(
        _out.dump(service.record(db.session, current_actor(), body)), "Diagnosis recorded"
    )


@bp.delete("/api/diagnoses/<diagnosis_id>")
@endpoint("diagnoses:write", response=DiagnosisOut)
def remove_diagnosis(diagnosis_id: str) -> Any:
    """Withdraw a diagnosis entered in error, during the consultation."""
    return ok(
        _out.dump(service.remove(db.session, current_actor(), diagnosis_id)), "Diagnosis removed"
    )


@bp.get("/api/diagnoses/<visit_id>")
@endpoint("clinical_notes:read", response=DiagnosisOut, many=True)
def visit_diagnoses(visit_id: str) -> Any:
    """A visit's diagnoses, primary first in the claim."""
    return ok(_out.dump(service.for_visit(db.session, current_actor(), visit_id), many=True))


@bp.get("/api/icd10")
@endpoint("reference:read", query=CodeQuery, response=CodeOut, many=True)
def search_icd10(query: dict[str, Any]) -> Any:
    """Codable ICD-10 entries by code prefix or words of the description."""
    page, per_page = query["page"], query["per_page"]
    found = icd10.search(query["q"])
    chunk = found[(page - 1) * per_page : page * per_page]
    return paginated(CodeOut(many=True).dump(chunk), page, per_page, len(found))
