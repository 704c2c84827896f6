"""The prescriptions API and the formulary the prescription form picks from."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from edge.prescription import service
from edge.prescription.schemas import FormularyOut, FormularyQuery, PrescriptionIn, PrescriptionOut

bp = Blueprint("prescriptions", __name__)

_out = PrescriptionOut()


@bp.post("/api/prescriptions")
@endpoint("prescriptions:write", body=PrescriptionIn, response=PrescriptionOut, status=201)
def prescribe(body: dict[str, Any]) -> Any:
    """Prescribe a formulary medicine during the consultation (and dispense it, if asked)."""
    prescription = service.prescribe(db.session, current_actor(), body)
    return created(_out.dump(prescription), "Prescription saved")


@bp.post("/api/prescriptions/<prescription_id>/dispense")
@endpoint("prescriptions:dispense", response=PrescriptionOut)
def dispense(prescription_id: str) -> Any:
    """Dispense a prescription from the vehicle's stock, earliest expiry first."""
    prescription = service.dispense_prescription(db.session, current_actor(), prescription_id)
    return ok(_out.dump(prescription), "Dispensed")


@bp.get("/api/prescriptions/<visit_id>")
@endpoint("clinical_notes:read", response=PrescriptionOut, many=True)
def visit_prescriptions(visit_id: str) -> Any:
    """A visit's prescriptions with their warnings and dispensing."""
    return ok(_out.dump(service.for_visit(db.session, current_actor(), visit_id), many=True))


@bp.get("/api/formulary")
@endpoint("reference:read", query=FormularyQuery, response=FormularyOut, many=True)
def formulary(query: dict[str, Any]) -> Any:
    """Medicines in the formulary with the quantity this vehicle holds."""
    page, per_page = query["page"], query["per_page"]
    items, total = service.formulary(db.session, current_actor(), query.get("q"), page, per_page)
    return paginated(FormularyOut(many=True).dump(items), page, per_page, total)
