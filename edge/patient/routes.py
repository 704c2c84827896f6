"""The patients API: thin over `edge.patient.service`, `importer` and `timeline`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from common.access import current_actor
from common.api import PageQuery, created, endpoint, ok, paginated
from common.database import db
from common.errors import BadRequest
from edge.patient import importer, service, timeline
from edge.patient.schemas import (
    BulkIn,
    DeactivateIn,
    ImportQuery,
    PatientCreate,
    PatientOut,
    PatientQuery,
    PatientUpdate,
)

bp = Blueprint("patients", __name__)

_out = PatientOut()


@bp.get("/api/patients")
@endpoint("patients:read", query=PatientQuery, response=PatientOut, many=True)
def list_patients(query: dict[str, Any]) -> Any:
    """Search this vehicle's patients by name, ID, passport or medical aid number."""
    page, per_page = query["page"], query["per_page"]
    found, total = service.search(
        db.session, current_actor(), query.get("q"), query["status"], page, per_page
    )
    return paginated(_out.dump(found, many=True), page, per_page, total)


@bp.post("/api/patients")
@endpoint("patients:write", body=PatientCreate, response=PatientOut, status=201)
def register_patient(body: dict[str, Any]) -> Any:
    """Register a patient; a likely duplicate answers 409 unless `allow_duplicate`."""
    return created(
        _out.dump(service.register(db.session, current_actor(), body)), "Patient registered"
    )


@bp.get("/api/patients/<patient_id>")
@endpoint("patients:read", response=PatientOut)
def get_patient(patient_id: str) -> Any:
    """One patient, with how long ago their eligibility was verified."""
    return ok(_out.dump(service.get(db.session, current_actor(), patient_id)))


@bp.put("/api/patients/<patient_id>")
@endpoint("patients:write", body=PatientUpdate, response=PatientOut)
def update_patient(patient_id: str, body: dict[str, Any]) -> Any:
    """Change a patient's details."""
    patient = service.update(db.session, current_actor(), patient_id, body)
    return ok(_out.dump(patient), "Patient updated")


@bp.post("/api/patients/<patient_id>/deactivate")
@endpoint("patients:write", body=DeactivateIn, body_optional=True, response=PatientOut)
def deactivate_patient(patient_id: str, body: dict[str, Any]) -> Any:
    """Deactivate a patient: kept on record, out of searches and new visits."""
    patient = service.deactivate(db.session, current_actor(), patient_id, body.get("reason"))
    return ok(_out.dump(patient), "Patient deactivated")


@bp.post("/api/patients/bulk")
@endpoint("patients:write", body=BulkIn, status=201)
def bulk_import(body: dict[str, Any]) -> Any:
    """Register many patients from a JSON list; per-row errors, all or (if asked) the valid."""
    report = importer.import_many(
        db.session, current_actor(), body["patients"], body["import_valid"]
    )
    return created(report, f"{report['imported']} patients imported")


@bp.post("/api/patients/import-csv")
@endpoint("patients:write", query=ImportQuery, status=201)
def import_csv(query: dict[str, Any]) -> Any:
    """Register patients from a CSV file (multipart field `file`, or a text/csv body)."""
    report = importer.import_csv(db.session, current_actor(), _csv_upload(), query["import_valid"])
    return created(report, f"{report['imported']} patients imported")


def _csv_upload() -> bytes:
    upload = request.files.get("file")
    if upload is not None:
        return upload.read()
    if request.mimetype == "text/csv":
        return request.get_data()
    raise BadRequest("Send the CSV file as the multipart field `file` or as a text/csv body")


@bp.get("/api/patients/<patient_id>/timeline")
@endpoint("patients:read", query=PageQuery)
def patient_timeline(patient_id: str, query: dict[str, Any]) -> Any:
    """Everything that happened to the patient on this vehicle, oldest first."""
    page, per_page = query["page"], query["per_page"]
    events, total = timeline.events(db.session, current_actor(), patient_id, page, per_page)
    return paginated(events, page, per_page, total)
