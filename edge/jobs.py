"""Scheduled work of the edge, as plain functions an APScheduler job calls with the engine.

`create_app` starts no scheduler; the serving entry point adds these jobs, for example
`scheduler.add_job(escalate_alerts, "interval", minutes=1, args=[engine,
config["ALERT_ESCALATION_MINUTES"]])` and `daily_checks` once a day.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from common.database import new_session, write_intent
from common.node import this_node
from edge.alert.service import DEFAULT_ESCALATION_MINUTES, escalate_overdue
from edge.asset.service import scan_maintenance
from edge.stock.service import scan as scan_stock
from schema.base import utcnow


def escalate_alerts(engine: Engine, minutes: int = DEFAULT_ESCALATION_MINUTES) -> int:
    """Climb the escalation level of high and critical alerts nobody has acknowledged."""
    with write_intent(), new_session(engine) as session, session.begin():
        return len(escalate_overdue(session, utcnow(), dt.timedelta(minutes=minutes)))


def daily_checks(engine: Engine, today: dt.date | None = None) -> int:
    """Raise low-stock, expiry and maintenance-due alerts (deduplicated) for this vehicle."""
    with write_intent(), new_session(engine) as session, session.begin():
        node = this_node(session)
        if node is None or node.vehicle_id is None:
            return 0
        day = today or dt.date.today()
        return scan_stock(session, node.vehicle_id, day) + scan_maintenance(
            session, node.vehicle_id, day
        )
