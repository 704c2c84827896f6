"""The hub's PALMED jobs on an APScheduler timer (`clinic-hub scheduler`).

Each run opens its own PALMED client. Running the scheduler in several processes at
once is safe: the claims pipeline leases claims in the database, and the member feed
applies each page once (see `hub.claims.submission`, `hub.members.eligibility`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from common.clinicday import clinic_day
from hub.claims import palmed, pipeline
from hub.members import eligibility

log = logging.getLogger(__name__)


def push_claims(engine: Engine, config: Mapping[str, Any]) -> None:
    with palmed.PalmedClient.from_config(config) as client:
        report = pipeline.run(engine, client)
    log.info("claims run: %s", report.as_dict())


def follow_members(engine: Engine, config: Mapping[str, Any]) -> None:
    today = clinic_day(dt.datetime.now(dt.UTC))
    with palmed.PalmedClient.from_config(config) as client:
        report = eligibility.follow(engine, client, today)
        report.verified = eligibility.verify(engine, client, today)
    log.info("member statuses: %s", report.as_dict())


def scheduler(
    engine: Engine, config: Mapping[str, Any], claims_every: int, members_every: int
) -> BlockingScheduler:
    """Both jobs, first run at once; a run still going when the next is due is not doubled."""
    jobs = BlockingScheduler(timezone=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    for job, seconds in ((push_claims, claims_every), (follow_members, members_every)):
        jobs.add_job(
            job,
            "interval",
            args=(engine, config),
            seconds=seconds,
            next_run_time=now,
            max_instances=1,
            coalesce=True,
        )
    return jobs
