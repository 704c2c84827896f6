"""One run of the claims pipeline: check and queue, submit exactly once, learn payments.

Called by the scheduler (`clinic-hub scheduler`), `clinic-hub push-claims` and
`POST /api/sync/palmed`; any number may run at once, in any number of processes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from common.clinicday import clinic_day
from hub.claims import palmed, payment, submission
from hub.claims.submission import RetryPolicy
from schema.base import utcnow

Progress = Callable[[str, str], None]


@dataclass
class Report:
    """What one run did: claims queued for PALMED and held for attention at intake,
    the status each submission ended in, and payments learnt."""

    queued: int = 0
    held: int = 0
    submitted: Counter[str] = field(default_factory=Counter)
    paid: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "queued": self.queued,
            "needs_attention": self.held,
            "submitted": dict(sorted(self.submitted.items())),
            "paid": self.paid,
        }


def run(
    engine: Engine,
    client: palmed.PalmedClient,
    *,
    policy: RetryPolicy | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
    limit: int = 500,
) -> Report:
    """Queue what is waiting, submit what is due (at most `limit`), then poll payments."""
    policy = policy or RetryPolicy()
    report = Report()
    report.queued, report.held = submission.intake(engine, utcnow(), today or clinic_day(utcnow()))
    for _ in range(limit):
        lease = submission.take_due(engine, utcnow(), policy)
        if lease is None:
            break
        status = submission.submit(engine, client, lease, policy)
        report.submitted[status] += 1
        if progress:
            progress(lease.claim_id, status)
    report.paid = payment.poll(engine, client)
    return report
