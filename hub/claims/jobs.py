"""The hub's PALMED jobs, run by `clinic-hub scheduler` (see `hub.scheduler`).

Each run opens its own PALMED client. Running them in several processes at once is
safe: the claims pipeline leases claims in the database, and the member feed applies
each page once (see `hub.claims.submission`, `hub.members.eligibility`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine

from common.clinicday import clinic_day
from hub.claims import palmed, pipeline
from hub.members import eligibility


def push_claims(engine: Engine, config: Mapping[str, Any]) -> str:
    with palmed.PalmedClient.from_config(config) as client:
        report = pipeline.run(engine, client)
    return summary(report)


def follow_members(engine: Engine, config: Mapping[str, Any]) -> str:
    today = clinic_day(dt.datetime.now(dt.UTC))
    with palmed.PalmedClient.from_config(config) as client:
        report = eligibility.follow(engine, client, today)
        report.verified = eligibility.verify(engine, client, today)
    return f"member statuses {report.as_dict()}"


def summary(report: pipeline.Report) -> str:
    sent = ", ".join(f"{n} {status}" for status, n in sorted(report.submitted.items()))
    reversed_ = ", ".join(f"{n} {status}" for status, n in sorted(report.reversed.items()))
    return (
        f"Queued {report.queued}, held for attention {report.held}; "
        f"reversed: {reversed_ or 'none'}; submitted: {sent or 'none'}; paid {report.paid}"
    )
