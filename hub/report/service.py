"""Figures for head office: visits, diagnoses, stock usage and claims per day, vehicle,
stage or status, over a period and for one vehicle or the fleet.

Every report is a GROUP BY over indexed columns (the visit date, the claim's service
date, the movement time), so it stays quick with years of rows (see the EXPLAIN test).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from hub.fleet.service import Health, fleet
from hub.scope import Query, Reach, reach
from schema.models import Alert, Claim, Diagnosis, Item, StockMovement, Vehicle, Visit

CLAIM_STATUSES = (
    "draft",
    "needs_attention",
    "submitted",
    "accepted",
    "rejected",
    "paid",
    "reversing",  # a correction replaces them: reversed at PALMED, or being reversed
    "reversed",
    "withdrawn",  # taken back before they were sent: never sent
)
VISIT_EXPORT_COLUMNS = (
    "id",
    "vehicle_id",
    "patient_id",
    "visit_date",
    "stage",
    "status",
    "location_id",
    "opened_at",
    "closed_at",
)


@dataclass(frozen=True)
class Scope:
    """The days (inclusive) a report covers, the caller's reach (`hub.scope`) and the
    vehicle asked for (None: every vehicle in reach; one out of reach: nothing)."""

    start: dt.date
    end: dt.date
    reach: Reach
    vehicle_id: str | None = None

    @property
    def within(self) -> Reach:
        return self.reach.narrowed(self.vehicle_id)


def scope_of(
    session: Session, actor: Actor, start: dt.date, end: dt.date, vehicle_id: str | None
) -> Scope:
    """The scope of a report the actor asked for: their vehicles, or the one they named."""
    return Scope(start, end, reach(session, actor), vehicle_id)


@dataclass(frozen=True)
class Report:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON objects (dates and times in ISO 8601)."""
        return [
            {name: _json(value) for name, value in zip(self.columns, row, strict=True)}
            for row in self.rows
        ]


def visits_query(scope: Scope) -> Select[Any]:
    return _for_vehicle(
        select(Visit.visit_date, Visit.vehicle_id, Vehicle.name, Visit.stage, func.count())
        .join(Vehicle, Vehicle.id == Visit.vehicle_id)
        .where(Visit.visit_date.between(scope.start, scope.end))
        .group_by(Visit.visit_date, Visit.vehicle_id, Vehicle.name, Visit.stage)
        .order_by(Visit.visit_date, Vehicle.name, Visit.stage),
        Visit.vehicle_id,
        scope,
    )


def visits(session: Session, scope: Scope) -> Report:
    """Visits per day, vehicle and (current) stage."""
    columns = ("date", "vehicle_id", "vehicle_name", "stage", "visits")
    return Report(columns, [tuple(r) for r in session.execute(visits_query(scope))])


def diagnoses_query(scope: Scope, limit: int = 20) -> Select[Any]:
    return _for_vehicle(
        select(
            Diagnosis.icd10_code,
            func.count(),
            func.count(func.distinct(Diagnosis.patient_id)),
        )
        .join(Visit, Visit.id == Diagnosis.visit_id)
        .where(Visit.visit_date.between(scope.start, scope.end))
        .group_by(Diagnosis.icd10_code)
        .order_by(func.count().desc(), Diagnosis.icd10_code)
        .limit(limit),
        Visit.vehicle_id,
        scope,
    )


def diagnoses(session: Session, scope: Scope) -> Report:
    """The most frequent ICD-10 codes in the period, with how many patients had each."""
    rows = [tuple(r) for r in session.execute(diagnoses_query(scope))]
    return Report(("icd10_code", "diagnoses", "patients"), rows)


def stock_usage_query(scope: Scope) -> Select[Any]:
    start, end = _instants(scope)
    return _for_vehicle(
        select(
            StockMovement.vehicle_id,
            Vehicle.name,
            Item.name,
            StockMovement.kind,
            -func.sum(StockMovement.quantity),
        )
        .join(Vehicle, Vehicle.id == StockMovement.vehicle_id)
        .join(Item, Item.id == StockMovement.item_id)
        .where(StockMovement.occurred_at >= start, StockMovement.occurred_at < end)
        .where(StockMovement.quantity < 0)
        .group_by(StockMovement.vehicle_id, Vehicle.name, Item.name, StockMovement.kind)
        .order_by(Vehicle.name, Item.name, StockMovement.kind),
        StockMovement.vehicle_id,
        scope,
    )


def stock_usage(session: Session, scope: Scope) -> Report:
    """Stock that left each vehicle (dispensed, wasted, adjusted down) per item and kind."""
    columns = ("vehicle_id", "vehicle_name", "item", "kind", "quantity")
    rows = [(*r[:4], int(r[4])) for r in session.execute(stock_usage_query(scope))]
    return Report(columns, rows)


def claims_query(scope: Scope) -> Select[Any]:
    return _for_vehicle(
        select(
            Claim.status,
            func.count(),
            func.coalesce(func.sum(Claim.total_amount), 0),
            func.coalesce(func.sum(Claim.paid_amount), 0),
        )
        .where(Claim.service_date.between(scope.start, scope.end))
        .group_by(Claim.status),
        Claim.vehicle_id,
        scope,
    )


def claims(session: Session, scope: Scope) -> Report:
    """Claims by status in the period (by service date): how many, claimed and paid."""
    found = {
        status: (n, claimed, paid)
        for status, n, claimed, paid in session.execute(claims_query(scope))
    }
    ordered = [*CLAIM_STATUSES, *sorted(set(found) - set(CLAIM_STATUSES))]
    rows = [
        (status, n, _money(claimed), _money(paid))
        for status in ordered
        for n, claimed, paid in [found.get(status, (0, 0, 0))]
    ]
    return Report(("status", "claims", "claimed_amount", "paid_amount"), rows)


def stats(
    session: Session,
    scope: Scope,
    health: Health,
    now: dt.datetime,
    *,
    with_claims: bool,
) -> dict[str, Any]:
    """The dashboard's headline figures over the vehicles in scope; claims only for
    those who may see claims."""
    colours = [v["health"] for v in fleet(session, scope.reach, health, now)]
    visit_rows = visits(session, scope).records()
    today = now.date().isoformat()
    seen = select(func.count(func.distinct(Visit.patient_id))).where(
        Visit.visit_date.between(scope.start, scope.end)
    )
    alert_rows = session.execute(
        scope.within.alerts(select(Alert.priority, func.count()))
        .where(Alert.status.in_(("active", "acknowledged")))
        .group_by(Alert.priority)
    ).all()
    claim_rows = claims(session, scope).records() if with_claims else None
    return {
        "period": {"date_from": scope.start.isoformat(), "date_to": scope.end.isoformat()},
        "vehicles": {c: colours.count(c) for c in ("green", "amber", "red")}
        | {"total": len(colours)},
        "visits": {
            "total": sum(r["visits"] for r in visit_rows),
            "today": sum(r["visits"] for r in visit_rows if r["date"] == today),
            "by_stage": _totals(visit_rows, "stage", "visits"),
        },
        "patients_seen": session.scalar(_for_vehicle(seen, Visit.vehicle_id, scope)) or 0,
        "alerts": {"open": sum(n for _p, n in alert_rows), "by_priority": dict(alert_rows)},
        "claims": {"by_status": claim_rows} if claim_rows is not None else None,
    }


def export_visits(
    session: Session, actor: Actor, scope: Scope, page: int, per_page: int
) -> tuple[Report, int]:
    """A page of visits (no clinical content) for other systems; audited as an export."""
    query = _for_vehicle(
        select(Visit).where(Visit.visit_date.between(scope.start, scope.end)),
        Visit.vehicle_id,
        scope,
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Visit.visit_date, Visit.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    detail = {"date_from": str(scope.start), "date_to": str(scope.end), "count": len(rows)}
    audit.record_read(session, actor, "visit", None, action="export", detail=detail)
    report = Report(
        VISIT_EXPORT_COLUMNS, [tuple(getattr(v, c) for c in VISIT_EXPORT_COLUMNS) for v in rows]
    )
    return report, total


def _for_vehicle(query: Query, column: Any, scope: Scope) -> Query:
    return scope.within.where(query, column)


def _instants(scope: Scope) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(scope.start, dt.time(), dt.UTC)
    return start, dt.datetime.combine(scope.end + dt.timedelta(days=1), dt.time(), dt.UTC)


def _totals(rows: Sequence[dict[str, Any]], key: str, value: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for row in rows:
        totals[row[key]] = totals.get(row[key], 0) + row[value]
    return totals


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _money(value: Any) -> str:
    return str(Decimal(value or 0).quantize(Decimal("0.01")))
