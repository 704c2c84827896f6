"""Background jobs of the hub, safe to run in several hub processes at once.

Each job claims its rows with SELECT ... FOR UPDATE SKIP LOCKED (MariaDB 10.6+, MySQL
8): a row one process is working on is skipped by the others, and what a job writes
depends only on the row and the time, so a row handled twice gets the same result. No
in-process flags: any process may run any job at any moment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.fleet.service import Health, last_syncs
from schema.models import Alert, AlertEscalation, Device, Vehicle

OPEN = ("active", "acknowledged")
STALE_SYNC = "sync_stale"
MAX_LEVEL = 3
BATCH = 200

# How long an unacknowledged alert waits before each escalation, by priority.
ESCALATE_EVERY = {
    "critical": dt.timedelta(minutes=15),
    "high": dt.timedelta(hours=1),
    "medium": dt.timedelta(hours=4),
    "low": dt.timedelta(hours=24),
}


@dataclass(frozen=True)
class Outcome:
    escalated: int = 0
    raised: int = 0
    resolved: int = 0


def escalate(session: Session, now: dt.datetime) -> Outcome:
    """Raise the escalation level of unacknowledged alerts that have waited too long,
    recording each step; commits."""
    claimed = session.scalars(
        select(Alert)
        .where(Alert.status == "active", Alert.escalation_level < MAX_LEVEL)
        .order_by(Alert.created_at)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    escalated = 0
    for alert in claimed:
        due = due_level(alert, now)
        if due > alert.escalation_level:
            session.add(
                AlertEscalation(
                    alert_id=alert.id,
                    vehicle_id=alert.vehicle_id,
                    from_level=alert.escalation_level,
                    to_level=due,
                    reason="unacknowledged",
                    at=now,
                )
            )
            alert.escalation_level = due
            escalated += 1
    session.commit()
    return Outcome(escalated=escalated)


def due_level(alert: Alert, now: dt.datetime) -> int:
    """The level an alert should be at now: one more for each interval it waited."""
    every = ESCALATE_EVERY.get(alert.priority, ESCALATE_EVERY["medium"])
    waited = now - alert.created_at
    return min(MAX_LEVEL, max(0, int(waited / every)))


def detect_stale_sync(session: Session, health: Health, now: dt.datetime) -> Outcome:
    """Raise one alert for each enrolled vehicle whose last sync is red, and resolve it
    once the vehicle syncs again; commits."""
    enrolled = set(session.scalars(select(Device.vehicle_id).where(Device.status == "active")))
    latest = last_syncs(session)
    vehicles = session.scalars(
        select(Vehicle)
        .where(Vehicle.id.in_(enrolled), Vehicle.status == "active")
        .order_by(Vehicle.id)
        .with_for_update(skip_locked=True)
    ).all()
    raised = resolved = 0
    for vehicle in vehicles:
        last = latest.get(vehicle.id)
        stale = health.colour(now - last if last else None) == "red"
        alert = _open_stale_alert(session, vehicle.id)
        if stale and alert is None:
            session.add(_stale_alert(vehicle, last, now))
            raised += 1
        elif not stale and alert is not None:
            alert.status, alert.resolved_at = "resolved", now
            resolved += 1
    session.commit()
    return Outcome(raised=raised, resolved=resolved)


def _open_stale_alert(session: Session, vehicle_id: str) -> Alert | None:
    return session.scalar(
        select(Alert)
        .where(Alert.vehicle_id == vehicle_id, Alert.dedupe_key == STALE_SYNC)
        .where(Alert.status.in_(OPEN))
        .limit(1)
    )


def _stale_alert(vehicle: Vehicle, last: dt.datetime | None, now: dt.datetime) -> Alert:
    since = f"since {last:%Y-%m-%d %H:%M} UTC" if last else "since it was enrolled"
    return Alert(
        vehicle_id=vehicle.id,
        kind=STALE_SYNC,
        priority="high",
        title=f"{vehicle.name} has not synced {since}",
        detail="Check the vehicle's link and the laptop; its work is not reaching head office.",
        resource_type="vehicle",
        resource_id=vehicle.id,
        dedupe_key=STALE_SYNC,
        status="active",
        escalation_level=0,
        created_at=now,
    )
