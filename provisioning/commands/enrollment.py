"""`enroll`, `initial-load`, `wipe`: joining the hub, the starting data, decommissioning."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy import Engine

from common.database import sqlcipher_engine
from edge.sync import service as edge_sync
from provisioning import edgedb
from provisioning import enrollment as enrollment_lib
from provisioning.commands import database_key, errors, paths, settings
from provisioning.errors import ProvisioningError
from sync.snapshot import CHUNK_ROWS, MAX_CHUNK_ROWS


def _engine(config: dict[str, Any]) -> tuple[Engine, bytes]:
    key = database_key(config)
    return sqlcipher_engine(paths(config).database, key), key


@click.command(
    help="Enroll this laptop with the hub using the one-time token head office issued for "
    "its vehicle: pins the hub's TLS certificate, stores the device key owner-only, uploads "
    "the key's escrow copy, then runs the first sync to prove the connection. A wrong, used "
    "or expired token or an unreachable hub changes nothing."
)
@click.option("--hub", "hub_url", required=True, help="The hub's URL, e.g. https://hub.example.")
@click.option("--token", required=True, help="The one-time enrollment token.")
@click.option(
    "--ca-file",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help="Head office's CA certificate (PEM) when the hub's certificate is not publicly signed.",
)
def enroll(hub_url: str, token: str, ca_file: str | None) -> None:
    config = settings()
    with errors():
        engine, _ = _engine(config)
        try:
            enrolled = enrollment_lib.enroll(engine, paths(config), hub_url, token, ca_file)
            click.echo(f"Enrolled device {enrolled.device_id} as vehicle {enrolled.vehicle_id}")
            if enrolled.tls_fingerprint:
                click.echo(f"  hub certificate SHA-256 (pinned): {enrolled.tls_fingerprint}")
            click.echo("First sync ...")
            try:
                with Progress() as progress:
                    enrollment_lib.initial_load(engine, config, click.echo, progress)
            except ProvisioningError as error:
                raise ProvisioningError(
                    f"enrolled, but the first sync failed ({error}); "
                    "fix the connection and run `clinic-provision initial-load`"
                ) from None
        finally:
            engine.dispose()
    click.echo("Connection to the hub verified.")


@click.command(
    "initial-load",
    help="Pull this vehicle's starting data from the hub (users, formulary, routes, patients "
    "of its routes, eligibility) as a bulk snapshot in chunks, with progress, then sync. Run "
    "after enroll; if interrupted, run it again: it resumes from the last chunk applied.",
)
@click.option(
    "--chunk-rows",
    default=CHUNK_ROWS,
    show_default=True,
    type=click.IntRange(1, MAX_CHUNK_ROWS),
    help="Rows per chunk: smaller chunks lose less to a dropped link, larger ones load faster.",
)
def initial_load(chunk_rows: int) -> None:
    config = settings()
    with errors():
        engine, _ = _engine(config)
        try:
            click.echo(
                f"Loading vehicle {edge_sync.enrollment(paths(config).secrets_dir).vehicle_id} ..."
            )
            with Progress() as progress:
                enrollment_lib.initial_load(engine, config, click.echo, progress, chunk_rows)
        finally:
            engine.dispose()
    click.echo("Initial load complete.")


class Progress:
    """A progress bar on a terminal; a line per chunk otherwise (a log, a script)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.render_finish()

    def __call__(self, done: int, total: int | None) -> None:
        if not sys.stdout.isatty():
            of = f" of {total:,}" if total else ""
            click.echo(f"  {done:,}{of} rows loaded")
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total or done, label="  snapshot")
        self.bar.update(done - self.shown)
        self.shown = done


@click.command(
    help="Decommission this laptop: tell the hub it is retired, then destroy the database "
    "key, the device key, the enrollment and the database files. Refused until the hub's "
    "signed receipt covers every local change, unless --force with the device id typed to "
    "confirm. Stop the edge first."
)
@click.option("--force", is_flag=True, help="Wipe even with unconfirmed changes or no hub.")
@click.option(
    "--confirm",
    "confirmation",
    default=None,
    metavar="DEVICE_ID",
    help="With --force: this laptop's device id, instead of typing it at the prompt.",
)
def wipe(force: bool, confirmation: str | None) -> None:
    config = settings()
    where = paths(config)
    with errors():
        engine, key = _engine(config)
        try:
            device_id = edge_sync.status(engine, config)["device_id"] or ""
            problem = enrollment_lib.unconfirmed(engine, config)
        finally:
            engine.dispose()
        if problem and not force:
            raise ProvisioningError(f"refusing to wipe: {problem}; or use --force")
        if force:
            _confirm(device_id, problem, confirmation)
        with edgedb.exclusive(where.database, key):
            pass  # refuses while the edge server or scheduler has the database open
        engine = sqlcipher_engine(where.database, key)
        try:
            enrollment_lib.retire(engine, config)
            click.echo(f"The hub has retired device {device_id}.")
        except ProvisioningError as error:
            if not force:
                raise
            click.echo(f"Warning: {error}; tell head office to revoke {device_id}.")
        finally:
            engine.dispose()
        removed = enrollment_lib.destroy(where)
    for path in removed:
        click.echo(f"  destroyed {path}")
    click.echo("This laptop is wiped.")


def _confirm(device_id: str, problem: str | None, confirmation: str | None) -> None:
    if problem:
        click.echo(f"Warning: {problem}. Wiping now loses that work.")
    typed = confirmation
    if typed is None:
        typed = click.prompt(f"Type this laptop's device id ({device_id}) to wipe it")
    if typed.strip() != device_id:
        raise ProvisioningError("confirmation did not match the device id; nothing was changed")
