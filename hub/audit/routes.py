"""`/api/audit`: head office searches and exports the audit trail of every node."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, stream_with_context

from common.access import current_actor
from common.api import endpoint, paginated
from common.database import db
from hub.audit import service
from hub.audit.schemas import AuditFilters, AuditOut, AuditQuery

bp = Blueprint("audit", __name__)


@bp.get("/api/audit")
@endpoint("audit:read", query=AuditQuery, response=AuditOut, many=True)
def search(query: dict[str, Any]) -> Any:
    """Audit records, newest first, by user, patient, action, vehicle, outcome and time."""
    page, per_page = query.pop("page"), query.pop("per_page")
    wanted = service.AuditFilter(**query)
    records, total = service.search(db.session, current_actor(), wanted, page, per_page)
    return paginated(AuditOut().dump(records, many=True), page, per_page, total)


@bp.get("/api/audit/export.csv")
@endpoint("audit:read", query=AuditFilters)
def export(query: dict[str, Any]) -> Any:
    """The matching audit records as a CSV file."""
    rows = service.export(db.session, current_actor(), service.AuditFilter(**query))
    headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
    return Response(stream_with_context(rows), mimetype="text/csv", headers=headers)
