"""`clinic-hub`: run and administer head office's hub."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from common.cli import (
    audit_group,
    friendly_errors,
    read_password,
    seal_audit_with_node_key,
    serve_command,
    start_audit_sealing,
)
from common.config import ensure_secret_file
from common.database import new_session, plain_engine
from common.node import HUB_NODE_ID, ensure_node
from common.permission import Role
from common.users import create_user
from hub import config as hub_config
from hub.claims import cli as claims_cli
from hub.scope import FLEET
from hub.sync import device as devices
from hub.sync.exchange import ensure_receipt_key
from schema import migrate as migrations
from schema.models import Vehicle

F = TypeVar("F", bound=Callable[..., object])


def _config() -> dict[str, object]:
    return hub_config.from_env(os.environ)


def open_engine(config: dict[str, object]) -> Engine:
    """The hub's database; an SQLite file (the default) is made owner-only on first use."""
    return seal_audit_with_node_key(plain_engine(str(config["DATABASE_URL"])), config, "hub")


@click.group(help="Run and administer the head-office hub.")
def main() -> None:
    # Keys, secrets and (by default) an SQLite database with patient data: every file
    # this process creates is for its owner only.
    os.umask(0o077)


@main.command(help="Create or upgrade the hub database, its signing secret and its audit key.")
def migrate() -> None:
    config = _config()
    with friendly_errors():
        if ensure_secret_file(Path(str(config["SECRET_KEY_FILE"]))):
            click.echo(f"Created the signing secret in {config['SECRET_KEY_FILE']}")
        if ensure_receipt_key(Path(str(config["SYNC_KEY_FILE"]))):
            click.echo(f"Created the sync receipt key in {config['SYNC_KEY_FILE']}")
        engine = open_engine(config)
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        start_audit_sealing(engine, config)
        with new_session(engine) as session, session.begin():
            ensure_node(session, HUB_NODE_ID, "hub")
        click.echo(f"Hub database at {migrations.head_revision()} (was {before or 'empty'})")


@main.command("create-admin", help="Create a head-office administrator.")
@click.option("--username", required=True, help="Login name (lowercase).")
@click.option("--full-name", required=True, help="The person's name as shown in the app.")
@click.option("--email", default=None, help="Email address (optional).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(username: str, full_name: str, email: str | None, password_stdin: bool) -> None:
    password = read_password(password_stdin)
    with friendly_errors():
        engine = open_engine(_config())
        with new_session(engine) as session, session.begin():
            user = create_user(
                session,
                username=username,
                full_name=full_name,
                role=Role.ADMINISTRATOR,
                password=password,
                email=email,
            )
        click.echo(f"Administrator {user.username} created")


@main.command("enroll-token", help="Issue a one-time token that enrolls one laptop as VEHICLE.")
@click.argument("vehicle")
@click.option("--hours", default=72, show_default=True, help="How long the token stays valid.")
def enroll_token(vehicle: str, hours: int) -> None:
    with friendly_errors():
        engine = open_engine(_config())
        with new_session(engine) as session, session.begin():
            issued = devices.issue_token(session, _vehicle_id(session, vehicle), None, hours)
        click.echo(
            f"Enrollment token for vehicle {issued.vehicle_id} (valid until "
            f"{issued.expires_at:%Y-%m-%d %H:%M} UTC, works once):"
        )
        click.echo(issued.token)


@main.command("devices", help="List enrolled devices and their sync health.")
def list_devices() -> None:
    with friendly_errors():
        engine = open_engine(_config())
        with new_session(engine) as session:
            rows, total = devices.device_rows(session, FLEET, 1, 1000)
        click.echo(f"{total} device(s)")
        for row in rows:
            seen = row["last_sync_at"] or "never"
            click.echo(
                f"{row['id']}  {row['status']:<8} vehicle {row['vehicle_id']}  "
                f"last sync {seen}  stored {row['stored']}  quarantined {row['quarantined']}"
            )


@main.command("revoke", help="Refuse DEVICE's sync requests from now on.")
@click.argument("device")
def revoke(device: str) -> None:
    with friendly_errors():
        engine = open_engine(_config())
        with new_session(engine) as session, session.begin():
            devices.set_status(session, FLEET, device, "revoked")
        click.echo(f"Device {device} revoked: its next sync will be refused")


def _vehicle_id(session: Session, name_or_id: str) -> str:
    """A vehicle given by id, name or registration plate."""
    row = session.scalar(
        select(Vehicle).where(
            or_(
                Vehicle.id == name_or_id,
                Vehicle.name == name_or_id,
                Vehicle.registration_plate == name_or_id,
            )
        )
    )
    if row is None:
        raise click.ClickException(f"no vehicle with id, name or plate {name_or_id!r}")
    return row.id


def _every(name: str, default: int, low: int, what: str) -> Callable[[F], F]:
    env = f"HUB_{name.upper()}_EVERY_SECONDS"
    return click.option(
        f"--{name}-every",
        default=default,
        show_default=True,
        envvar=env,
        type=click.IntRange(low, 86_400),
        help=f"Seconds between {what} (env {env}).",
    )


@main.command(help="Run every background job of the hub on a timer (or each once).")
@click.option("--once", is_flag=True, help="Run each job once, print what it did, and exit.")
@click.option(
    "--without-palmed",
    is_flag=True,
    help="Run without the claims and member-feed jobs (a hub with no PALMED settings).",
)
@_every("claims", 60, 5, "claims runs to PALMED")
@_every("members", 900, 30, "member-status updates from PALMED")
@_every("alerts", 60, 5, "alert escalation and stale-sync checks")
@_every("stock", 3600, 60, "low-stock and expiry checks of the fleet")
def scheduler(once: bool, without_palmed: bool, **every: int) -> None:
    from hub import scheduler as timer
    from hub.claims.service import client_for

    settings = _config()
    with friendly_errors():
        if not without_palmed:
            client_for(settings).close()  # refuse to start unconfigured
        engine = open_engine(settings)
        intervals = {name.removesuffix("_every"): seconds for name, seconds in every.items()}
        wanted = timer.schedule(intervals, palmed=not without_palmed)
        if once:
            for line in timer.run_once(engine, settings, wanted):
                click.echo(line)
            return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    click.echo("Hub jobs: " + ", ".join(f"{j.name} every {j.every} s" for j in wanted))
    running = timer.timer(engine, settings, wanted)
    try:
        running.start()
    except (KeyboardInterrupt, SystemExit):
        running.shutdown(wait=False)


def _serving_app() -> object:
    """The app `serve` runs: it also drains the sync inbox in the background."""
    from hub import create_app
    from hub.sync.exchange import start_drain

    app = create_app()
    start_drain(app)
    return app


main.add_command(serve_command(_serving_app, 5100, "Serve the hub with waitress."))
main.add_command(audit_group(lambda: open_engine(_config())))
for _command in claims_cli.commands(_config, open_engine):
    main.add_command(_command)
