"""What the head-office pages show, gathered from the fleet, report and alert services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from common.access import Actor
from hub.alert import service as alerts
from hub.dashboard import chart
from hub.fleet.service import Health, fleet
from hub.report import service as reports
from hub.scope import reach

CHART_DAYS = 14
STAGES = (
    "registration",
    "nursing_assessment",
    "doctor_consultation",
    "counseling",
    "closure",
)


def overview(
    session: Session,
    actor: Actor,
    health: Health,
    now: dt.datetime,
    *,
    with_claims: bool,
    with_alerts: bool,
) -> dict[str, Any]:
    """The start page over the actor's vehicles (the fleet for head office): headline
    figures, fleet health, charts, diagnoses, and claims and open alerts for the roles
    that may see them."""
    today, within = now.date(), reach(session, actor)
    scope = reports.Scope(today - dt.timedelta(days=29), today, within)
    recent = reports.Scope(today - dt.timedelta(days=CHART_DAYS - 1), today, within)
    visit_rows = reports.visits(session, recent).records()
    open_alerts, alert_total = (
        alerts.list_alerts(session, within, alerts.AlertFilter(), 1, 10) if with_alerts else ([], 0)
    )
    return {
        "stats": reports.stats(session, scope, health, now, with_claims=with_claims),
        "fleet": fleet(session, within, health, now),
        "per_day": _per_day(visit_rows, recent),
        "per_stage": _per_stage(visit_rows),
        "diagnoses": reports.diagnoses(session, scope).records()[:10],
        "alerts": open_alerts if with_alerts else None,
        "alert_total": alert_total,
    }


def _per_day(rows: list[dict[str, Any]], scope: reports.Scope) -> chart.Chart:
    days = [(scope.start + dt.timedelta(days=n)).isoformat() for n in range(CHART_DAYS)]
    vehicles = sorted({r["vehicle_name"] for r in rows})
    values: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["date"], r["vehicle_name"])
        values[key] = values.get(key, 0) + r["visits"]
    return chart.stacked(days, vehicles, values, {d: d[5:] for d in days})


def _per_stage(rows: list[dict[str, Any]]) -> chart.Chart:
    found = {r["stage"] for r in rows}
    stages = [s for s in STAGES if s in found] + sorted(found - set(STAGES))
    vehicles = sorted({r["vehicle_name"] for r in rows})
    values: dict[tuple[str, str], int] = {}
    for r in rows:
        key = (r["stage"], r["vehicle_name"])
        values[key] = values.get(key, 0) + r["visits"]
    labels = {s: s.replace("_", " ") for s in stages}
    return chart.stacked(stages, vehicles, values, labels)
