"""One run of the claims pipeline: check and queue, reverse what corrections replace,
submit exactly once, learn payments.

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
from hub.claims import palmed, payment, reversal, submission
from hub.claims.lease import Lease, RetryPolicy
from schema.base import utcnow

Progress = Callable[[str, str], None]


@dataclass
class Report:
    """What one run did: claims queued for PALMED and held for attention at intake,
    the status each reversal and each submission ended in, and payments learnt."""

    queued: int = 0
    held: int = 0
    reversed: Counter[str] = field(default_factory=Counter)
    submitted: Counter[str] = field(default_factory=Counter)
    paid: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "queued": self.queued,
            "needs_attention": self.held,
            "reversed": dict(sorted(self.reversed.items())),
            "submitted": dict(sorted(self.submitted.items())),
            "paid": self.paid,
        }

    def take_in(self, queued: int, held: int) -> None:
        self.queued += queued
        self.held += held


def run(
    engine: Engine,
    client: palmed.PalmedClient,
    *,
    policy: RetryPolicy | None = None,
    progress: Progress | None = None,
    today: dt.date | None = None,
    limit: int = 500,
) -> Report:
    """Queue what is waiting, reverse the claims corrections replace, queue the
    corrections that frees, submit what is due (at most `limit` of each), then poll
    payments."""
    policy = (policy or RetryPolicy()).covering(client.longest_call)
    day = today or clinic_day(utcnow())
    report = Report()
    report.take_in(*submission.intake(engine, utcnow(), day))
    work = Work(engine, client, policy, progress, limit)
    work.do(reversal.take_due, reversal.reverse, report.reversed)
    if report.reversed:
        report.take_in(*submission.intake(engine, utcnow(), day))
    work.do(submission.take_due, submission.submit, report.submitted)
    report.paid = payment.poll(engine, client)
    return report


Take = Callable[[Engine, dt.datetime, RetryPolicy], Lease | None]
Call = Callable[[Engine, palmed.PalmedClient, Lease, RetryPolicy], str]


@dataclass(frozen=True)
class Work:
    """One kind of leased call, done until none is due (at most `limit`)."""

    engine: Engine
    client: palmed.PalmedClient
    policy: RetryPolicy
    progress: Progress | None
    limit: int

    def do(self, take: Take, call: Call, counts: Counter[str]) -> None:
        for _ in range(self.limit):
            lease = take(self.engine, utcnow(), self.policy)
            if lease is None:
                return
            status = call(self.engine, self.client, lease, self.policy)
            counts[status] += 1
            if self.progress:
                self.progress(lease.claim_id, status)
