"""`clinic-hub push-claims`: the PALMED pipeline from the shell (its timer is
`clinic-hub scheduler`, in `hub.cli`)."""

from __future__ import annotations

import datetime as dt
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
        click.echo(jobs.summary(report))

    return [push_claims]


def _progress(claim_id: str, status: str) -> None:
    click.echo(f"{dt.datetime.now(dt.UTC):%H:%M:%S} claim {claim_id}: {status}")
