"""`clinic-edge`: set up and run a vehicle's edge node."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import click
from sqlalchemy import Engine

from common import audit
from common.cli import (
    audit_group,
    friendly_errors,
    read_password,
    seal_audit_with_node_key,
    serve_command,
    start_audit_sealing,
)
from common.config import ensure_secret_file, write_secret_file
from common.database import new_session, sqlcipher_engine
from common.node import ensure_node, new_device_id
from common.permission import Role
from common.users import create_user
from edge import config as edge_config
from edge import jobs as edge_jobs
from edge.sync import service as sync_service
from schema import migrate as migrations


def _config() -> dict[str, object]:
    return edge_config.from_env(os.environ)


def open_engine(config: dict[str, object]) -> Engine:
    engine = sqlcipher_engine(Path(str(config["DATABASE_PATH"])), unlocked_key(config))
    return seal_audit_with_node_key(engine, config, "edge")


def unlocked_key(config: dict[str, object]) -> bytes:
    """The database key, asking for the unlock secret when a person can type it."""
    return edge_config.database_key(config, edge_config.unlock_prompt(config))


@click.group(help="Run and maintain a clinic vehicle's edge node.")
def main() -> None:
    # Patient data lives here: every file this process creates is for its owner only.
    os.umask(0o077)


@main.command(help="Create the encrypted database, its key and secrets, and migrate it.")
def init() -> None:
    config = _config()
    with friendly_errors():
        data_dir = Path(str(config["DATA_DIR"]))
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        key_file = Path(str(config["DB_KEY_FILE"]))
        wrapped = Path(str(config["WRAPPED_KEY_FILE"]))
        if not config.get("DB_KEY") and not key_file.exists() and not wrapped.exists():
            if Path(str(config["DATABASE_PATH"])).exists():
                raise click.ClickException(
                    f"a database exists at {config['DATABASE_PATH']} but its key file "
                    f"{key_file} is missing; restore the key instead of making a new one"
                )
            write_secret_file(key_file, secrets.token_hex(32))
            click.echo(f"Created a new database key in {key_file} (owner-only)")
        if ensure_secret_file(Path(str(config["SECRET_KEY_FILE"]))):
            click.echo(f"Created the signing secret in {config['SECRET_KEY_FILE']}")
        engine = open_engine(config)
        migrations.upgrade(engine)
        start_audit_sealing(engine, config)
        with new_session(engine) as session, session.begin():
            node = ensure_node(session, new_device_id(), "edge")
            click.echo(f"Edge node {node.id} ready at {config['DATABASE_PATH']}")


@main.command(
    help="Upgrade the database schema to the latest version (and make the audit key if "
    "there is none yet)."
)
def migrate() -> None:
    config = _config()
    with friendly_errors():
        engine = open_engine(config)
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        start_audit_sealing(engine, config)
        click.echo(f"Database at {migrations.head_revision()} (was {before or 'empty'})")


@main.command(
    "create-admin",
    help="Create an emergency administrator on this laptop. It signs in here only (never at "
    "head office nor on another laptop); head office is told of it and of its use.",
)
@click.option("--username", required=True, help="Login name (lowercase).")
@click.option("--full-name", required=True, help="The person's name as shown in the app.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_admin(username: str, full_name: str, password_stdin: bool) -> None:
    password = read_password(password_stdin)
    with friendly_errors():
        engine = open_engine(_config())
        with new_session(engine) as session, session.begin():
            node = ensure_node(session, new_device_id(), "edge")
            enrolled = node.vehicle_id is not None
            user = create_user(
                session,
                username=username,
                full_name=full_name,
                role=Role.ADMINISTRATOR,
                password=password,
            )
            audit.record(
                session,
                audit.Who(None, "clinic-edge", None, None, None, node.vehicle_id),
                "emergency_account_created",
                resource_type="user",
                resource_id=user.id,
            )
        click.echo(
            f"Emergency administrator {user.username} created: it signs in on this laptop "
            "only, and head office sees it after the next sync."
        )
        if not enrolled:
            click.echo(
                "This laptop is not enrolled to a vehicle yet: nobody can log in until it is."
            )


def _create_app() -> object:
    from edge import create_app

    config = _config()
    return create_app({"DB_KEY": unlocked_key(config).hex()})


main.add_command(
    serve_command(
        _create_app,
        5000,
        "Serve the crew app on the vehicle LAN: waitress over HTTP, or HTTPS with "
        "--tls-cert/--tls-key (made by `clinic-provision tls-cert`). Asks for the unlock "
        "PIN when the database key is wrapped and no secret is configured.",
        tls_envvar_prefix="EDGE",
    )
)
main.add_command(audit_group(lambda: open_engine(_config())))


@main.command(help="Enroll this laptop with the hub using a one-time token, then sync.")
@click.option("--hub", "hub_url", required=True, help="The hub's URL, e.g. https://hub.example.")
@click.option("--token", required=True, help="The one-time token from `clinic-hub enroll-token`.")
@click.option(
    "--ca-file", default=None, help="CA bundle that signs the hub's TLS certificate (pinning)."
)
def enroll(hub_url: str, token: str, ca_file: str | None) -> None:
    config = _config()
    with friendly_errors():
        engine = open_engine(config)
        enrolled = sync_service.enroll(
            engine, Path(str(config["SECRETS_DIR"])), hub_url, token, ca_file or True
        )
        click.echo(f"Enrolled device {enrolled.device_id} as vehicle {enrolled.vehicle_id}")
        click.echo("First sync (users, formulary, routes) ...")
        _report(sync_service.run(engine, {**config, "HUB_CA_FILE": ca_file}))


@main.command("sync", help="Sync with the hub now: send this vehicle's work, receive updates.")
def sync_command() -> None:
    config = _config()
    with friendly_errors():
        _report(sync_service.run(open_engine(config), config))


@main.command(help="Show sync status: pending changes, last success, errors, clock offset.")
def status() -> None:
    config = _config()
    with friendly_errors():
        state = sync_service.status(open_engine(config), config)
    for key, value in state.items():
        if key != "receipt":
            click.echo(f"{key.replace('_', ' '):<18} {value if value is not None else '-'}")


@main.command(
    help="Run the background jobs: sync every EDGE_SYNC_INTERVAL_SECONDS (with backoff), "
    "alert escalation, and low-stock, expiry and maintenance checks."
)
def scheduler() -> None:
    from apscheduler.schedulers.blocking import BlockingScheduler

    config = _config()
    with friendly_errors():
        engine = open_engine(config)
        interval = int(str(config["SYNC_INTERVAL_SECONDS"]))
        jobs = BlockingScheduler(timezone="UTC")
        jobs.add_job(
            lambda: click.echo(sync_service.scheduled_sync(engine, config)),
            "interval",
            seconds=interval,
            max_instances=1,
            coalesce=True,
        )
        minutes = int(str(config["ALERT_ESCALATION_MINUTES"]))
        jobs.add_job(
            lambda: click.echo(f"alerts escalated: {edge_jobs.escalate_alerts(engine, minutes)}"),
            "interval",
            minutes=5,
            max_instances=1,
            coalesce=True,
        )
        jobs.add_job(
            lambda: click.echo(f"stock and maintenance alerts: {edge_jobs.daily_checks(engine)}"),
            "interval",
            hours=6,
            max_instances=1,
            coalesce=True,
            next_run_time=dt.datetime.now(dt.UTC),
        )
        click.echo(f"Syncing every {interval} s, alert checks every few minutes; Ctrl+C stops.")
        try:
            jobs.start()
        except (KeyboardInterrupt, SystemExit):
            click.echo("Stopped.")


def _report(result: object) -> None:
    pushed, pulled, exchanges = (getattr(result, n) for n in ("pushed", "pulled", "exchanges"))
    click.echo(f"Synced: {pushed} change(s) sent, {pulled} received in {exchanges} exchange(s)")
