"""`palmed-sandbox`: serve the PALMED sandbox and steer it (roster, member statuses,
pay runs). The commands other than `serve` work on the database file directly, so they
can run beside a serving sandbox or before it starts."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import click
from marshmallow import ValidationError

from common.cli import friendly_errors, server_options
from palmed import member, remittance, schemas, store

DEFAULT_DB = "var/palmed/sandbox.db"


def _demo_roster() -> Path:
    return Path(str(resources.files("palmed.data").joinpath("demo_roster.csv")))


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "database",
        default=DEFAULT_DB,
        show_default=True,
        envvar="PALMED_SANDBOX_DB",
        show_envvar=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The sandbox's SQLite file; its state survives restarts.",
    )(command)


def roster_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--roster",
        "rosters",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A roster CSV to load (members are added or updated); may be repeated.",
    )(command)
    return click.option(
        "--demo", is_flag=True, help="Load the shipped demo roster (palmed/data/demo_roster.csv)."
    )(command)


def _seed(database: Path, rosters: tuple[Path, ...], demo: bool) -> None:
    """Validate every file first, then load them: a bad row loads nothing."""
    paths = [*rosters, *([_demo_roster()] if demo else [])]
    rows = [row for path in paths for row in member.read_roster(path)]
    if not rows:
        return
    with store.opened(database) as connection:
        result = member.seed(connection, rows)
    click.echo(f"Roster: {result.members} member row(s), {result.status_changes} status change(s)")


@click.group(help="Run a local sandbox of the PALMED scheme API for development and tests.")
def main() -> None:
    pass


@main.command(help="Serve the scheme API (/v1), sandbox control (/admin) and /health.")
@db_option
@roster_options
@server_options(5200, lowest_port=0)
@click.option("--reset", is_flag=True, help="Delete the database file first and start empty.")
@click.option(
    "--api-key",
    envvar="PALMED_API_KEY",
    show_envvar=True,
    help="Key scheme API clients present; generated and printed when not given.",
)
@click.option(
    "--admin-key",
    envvar="PALMED_ADMIN_KEY",
    show_envvar=True,
    help="Key for the /admin endpoints; generated and printed when not given.",
)
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON file of faults to start with, shaped like the body of PUT /admin/faults.",
)
def serve(
    database: Path,
    rosters: tuple[Path, ...],
    demo: bool,
    host: str,
    port: int,
    threads: int,
    reset: bool,
    api_key: str | None,
    admin_key: str | None,
    faults_file: Path | None,
) -> None:
    from waitress import create_server

    from palmed import create_app

    with friendly_errors():
        faults = _read_faults(faults_file) if faults_file else None
        store.initialise(database, reset=reset)
        _seed(database, rosters, demo)
    config = {
        "DATABASE": str(database),
        "API_KEY": api_key or _generated("API key", "PALMED_API_KEY"),
        "ADMIN_KEY": admin_key or _generated("admin key", "PALMED_ADMIN_KEY"),
        "FAULTS": faults,
    }
    server = create_server(
        create_app(config), host=host, port=port, threads=threads, ident="palmed-sandbox"
    )
    click.echo(f"PALMED sandbox on http://{host}:{server.effective_port} (Ctrl+C to stop)")
    server.run()


def _generated(what: str, variable: str) -> str:
    key = secrets.token_urlsafe(24)
    click.echo(f"Generated {what} (set {variable} to choose one): {key}")
    return key


def _read_faults(path: Path) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schemas.Faults().load(json.loads(path.read_text()))
    except (ValueError, ValidationError) as error:
        raise click.ClickException(f"{path}: not a valid fault plan: {error}") from None
    return loaded


@main.command(help="Load roster CSV files into the database (creating it if needed).")
@db_option
@roster_options
def seed(database: Path, rosters: tuple[Path, ...], demo: bool) -> None:
    if not rosters and not demo:
        raise click.UsageError("give --roster FILE and/or --demo")
    with friendly_errors():
        _seed(database, rosters, demo)


@main.command("member-status", help="Suspend, reinstate or terminate a member.")
@db_option
@click.argument("member_number")
@click.argument("dependant_code")
@click.argument("status", type=click.Choice(schemas.STATUSES))
@click.option(
    "--effective-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date the status takes effect (YYYY-MM-DD); today when not given.",
)
@click.option("--reason", default=None, help="Why, as shown in the member change feed.")
def member_status(
    database: Path,
    member_number: str,
    dependant_code: str,
    status: str,
    effective_date: dt.datetime | None,
    reason: str | None,
) -> None:
    day = effective_date.date() if effective_date else store.today()
    with friendly_errors():
        with store.opened(database) as connection:
            change = member.change_status(
                connection, member_number, dependant_code, status, day, reason
            )
    click.echo(
        f"{member_number}/{dependant_code} is {status} from {day} (change {change['sequence']})"
    )


@main.command(
    "pay-run",
    help="Pay every accepted claim, and recover every paid claim reversed since, under one new"
    " remittance.",
)
@db_option
@click.option(
    "--paid-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Payment date on the remittance (YYYY-MM-DD); today when not given.",
)
def pay_run(database: Path, paid_date: dt.datetime | None) -> None:
    with friendly_errors():
        with store.opened(database) as connection:
            result = remittance.pay_run(
                connection, paid_date.date() if paid_date else store.today()
            )
    if result is None:
        click.echo("Nothing to pay")
        return
    click.echo(
        f"Remittance {result['remittance_id']}: {len(result['claims'])} claim(s), "
        f"R {result['total_paid']}"
    )
