"""Run the hub's jobs from the `clinic-hub jobs` entry point: once, or on an APScheduler
interval. Any number of hub processes may do this at once (see `hub.alert.job`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from common.database import new_session
from hub.alert import job
from hub.fleet.service import health_of
from schema.base import utcnow

log = logging.getLogger(__name__)


def run_once(engine: Engine, config: Mapping[str, Any]) -> str:
    """Run every job once; a summary line of what they did."""
    with new_session(engine) as session:
        escalated = job.escalate(session, utcnow())
        stale = job.detect_stale_sync(session, health_of(config), utcnow())
    return (
        f"escalated {escalated.escalated} alerts; stale sync: raised {stale.raised}, "
        f"resolved {stale.resolved}"
    )


def run_forever(engine: Engine, config: Mapping[str, Any], interval: int) -> None:
    scheduler = BlockingScheduler(timezone=dt.UTC)
    scheduler.add_job(
        lambda: log.info(run_once(engine, config)),
        "interval",
        seconds=interval,
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.start()
