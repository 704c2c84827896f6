"""Every background job of the hub on one timer: `clinic-hub scheduler`.

Claims to PALMED, the member feed, alert escalation, stale-sync detection and the
fleet's stock alerts. Any number of hub processes may run the scheduler at once: each
job claims its rows in the database (leases, FOR UPDATE SKIP LOCKED), never with an
in-process flag, so the jobs hold no state between runs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from common.database import new_session
from hub.alert import job, stock
from hub.claims import jobs as claims
from hub.fleet.service import health_of
from schema.base import utcnow

log = logging.getLogger(__name__)

Run = Callable[[Engine, Mapping[str, Any]], str]


@dataclass(frozen=True)
class Job:
    name: str
    every: int  # seconds
    run: Run


def alerts(engine: Engine, config: Mapping[str, Any]) -> str:
    with new_session(engine) as session:
        escalated = job.escalate(session, utcnow())
        stale = job.detect_stale_sync(session, health_of(config), utcnow())
    return (
        f"escalated {escalated.escalated} alerts; stale sync: raised {stale.raised}, "
        f"resolved {stale.resolved}"
    )


def stock_alerts(engine: Engine, config: Mapping[str, Any]) -> str:
    now = utcnow()
    with new_session(engine) as session:
        found = stock.scan_stock(session, now.date(), now)
    return f"raised {found.raised} low-stock or expiry alerts"


def schedule(every: Mapping[str, int], palmed: bool) -> list[Job]:
    """The jobs at their intervals (seconds by job name); PALMED's only if configured."""
    wanted = [Job("alerts", every["alerts"], alerts), Job("stock", every["stock"], stock_alerts)]
    if palmed:
        wanted += [
            Job("claims", every["claims"], claims.push_claims),
            Job("members", every["members"], claims.follow_members),
        ]
    return wanted


def run_once(engine: Engine, config: Mapping[str, Any], wanted: list[Job]) -> list[str]:
    """Each job once, in order; a summary line of each."""
    return [f"{item.name}: {item.run(engine, config)}" for item in wanted]


def timer(engine: Engine, config: Mapping[str, Any], wanted: list[Job]) -> BlockingScheduler:
    """The jobs, each first run at once; a run still going when the next is due is not
    doubled, and a failing run is logged and retried at its next interval."""
    scheduler = BlockingScheduler(timezone=dt.UTC)
    for item in wanted:
        scheduler.add_job(
            _logged,
            "interval",
            args=(item, engine, config),
            id=item.name,
            seconds=item.every,
            next_run_time=utcnow(),
            max_instances=1,
            coalesce=True,
        )
    return scheduler


def _logged(item: Job, engine: Engine, config: Mapping[str, Any]) -> None:
    log.info("%s: %s", item.name, item.run(engine, config))
