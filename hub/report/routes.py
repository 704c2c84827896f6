"""`/api/dashboard/stats`, `/api/reports/*` (JSON or CSV) and `/api/sync/visits`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from sqlalchemy.orm import Session

from common.access import current_actor
from common.api import endpoint, ok, paginated
from common.database import db
from common.permission import permits
from hub import csvfile
from hub.fleet.routes import health
from hub.report import service
from hub.report.schemas import Period, ReportQuery, StatsOut, VisitExportQuery, period
from schema.base import utcnow

bp = Blueprint("reports", __name__)


def scope(query: dict[str, Any]) -> service.Scope:
    """The period and vehicle asked for, within the caller's vehicles."""
    start, end = period(query, utcnow().date())
    return service.scope_of(db.session, current_actor(), start, end, query.get("vehicle_id"))


def _answer(
    report: service.Report, query: dict[str, Any], name: str, total: int | None = None
) -> Any:
    if query["format"] == "csv":
        return csvfile.attachment(csvfile.write(report.columns, report.rows), f"{name}.csv")
    page, per_page = query["page"], query["per_page"]
    records = report.records()
    if total is None:
        total, records = len(records), records[(page - 1) * per_page : page * per_page]
    return paginated(records, page, per_page, total)


def _report(
    build: Callable[[Session, service.Scope], service.Report], name: str, query: dict[str, Any]
) -> Any:
    return _answer(build(db.session, scope(query)), query, name)


@bp.get("/api/dashboard/stats")
@endpoint("dashboard:read", query=Period, response=StatsOut)
def stats(query: dict[str, Any]) -> Any:
    """Headline figures: fleet sync health, visits, patients seen, open alerts, claims
    (claims only for roles that may read them)."""
    actor = current_actor()
    data = service.stats(
        db.session,
        scope(query),
        health(),
        utcnow(),
        with_claims=permits(actor.role, "claims:read"),
    )
    return ok(data)


@bp.get("/api/reports/visits")
@endpoint("reports:read", query=ReportQuery)
def visits_report(query: dict[str, Any]) -> Any:
    """Visits per day, vehicle and stage (format=csv for a file)."""
    return _report(service.visits, "visits", query)


@bp.get("/api/reports/diagnoses")
@endpoint("reports:read", query=ReportQuery)
def diagnoses_report(query: dict[str, Any]) -> Any:
    """The most frequent diagnoses (ICD-10) in the period."""
    return _report(service.diagnoses, "diagnoses", query)


@bp.get("/api/reports/stock-usage")
@endpoint("reports:read", query=ReportQuery)
def stock_usage_report(query: dict[str, Any]) -> Any:
    """Stock used per vehicle, item and kind of movement."""
    return _report(service.stock_usage, "stock-usage", query)


@bp.get("/api/reports/claims")
@endpoint("reports:read", query=ReportQuery)
def claims_report(query: dict[str, Any]) -> Any:
    """Claims by status: how many, amounts claimed and paid."""
    return _report(service.claims, "claims", query)


@bp.get("/api/sync/visits")
@endpoint("visits:read", query=VisitExportQuery)
def export_visits(query: dict[str, Any]) -> Any:
    """Export visit data (seed 003): visits in the period, paged, or as CSV (format=csv);
    audited."""
    page, per_page = query["page"], query["per_page"]
    if query["format"] == "csv":
        page, per_page = 1, 100_000
    report, total = service.export_visits(db.session, current_actor(), scope(query), page, per_page)
    return _answer(report, query, "visits-export", total)
