"""`clinic-hub push-claims` and `clinic-hub scheduler`: the PALMED pipeline from the shell."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import Engine

from common.cli import friendly_errors
from hub.claims import jobs, pipeline, service

Config = Callable[[], dict[str, Any]]
OpenEngine = Callable[[dict[str, Any]], Engine]


def commands(config: Config, open_engine: OpenEngine) -> list[click.Command]:
    """The commands, given how the hub CLI reads its settings and opens its database."""

    @click.command("push-claims", help="Send the claims waiting at the hub to PALMED now.")
    @click.option(
        "--limit",
        default=500,
        show_default=True,
        type=click.IntRange(1, 100_000),
        help="Submit at most this many claims in this run.",
    )
    def push_claims(limit: int) -> None:
        settings = config()
        with friendly_errors():
            client = service.client_for(settings)
        engine = open_engine(settings)
        with client:
            report = pipeline.run(engine, client, progress=_progress, limit=limit)
        click.echo(_summary(report))

    @click.command("scheduler", help="Run the PALMED jobs on a timer until stopped.")
    @click.option(
        "--claims-every",
        default=60,
        show_default=True,
        envvar="HUB_CLAIMS_EVERY_SECONDS",
        type=click.IntRange(5, 86_400),
        help="Seconds between claims runs (env HUB_CLAIMS_EVERY_SECONDS).",
    )
    @click.option(
        "--members-every",
        default=900,
        show_default=True,
        envvar="HUB_MEMBERS_EVERY_SECONDS",
        type=click.IntRange(30, 86_400),
        help="Seconds between member-status updates (env HUB_MEMBERS_EVERY_SECONDS).",
    )
    def scheduler(claims_every: int, members_every: int) -> None:
        settings = config()
        with friendly_errors():
            service.client_for(settings).close()  # refuse to start unconfigured
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        click.echo(f"PALMED jobs: claims every {claims_every} s, members every {members_every} s")
        timer = jobs.scheduler(open_engine(settings), settings, claims_every, members_every)
        try:
            timer.start()
        except (KeyboardInterrupt, SystemExit):
            timer.shutdown(wait=False)

    return [push_claims, scheduler]


def _progress(claim_id: str, status: str) -> None:
    click.echo(f"{dt.datetime.now(dt.UTC):%H:%M:%S} claim {claim_id}: {status}")


def _summary(report: pipeline.Report) -> str:
    sent = ", ".join(f"{n} {status}" for status, n in sorted(report.submitted.items()))
    return (
        f"Queued {report.queued}, held for attention {report.held}; "
        f"submitted: {sent or 'none'}; paid {report.paid}"
    )
