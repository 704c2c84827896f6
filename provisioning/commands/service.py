"""`install-service` and `health-check`: running the edge under systemd."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from common.config import read_secret_file
from provisioning import health, systemd
from provisioning.commands import errors, paths, settings
from provisioning.errors import ProvisioningError
from provisioning.key import unwrap
from provisioning.paths import EdgePaths
from provisioning.tls import TlsFiles

NEXT_STEPS = (
    "sudo systemctl daemon-reload && sudo systemctl restart systemd-journald && "
    f"sudo systemctl enable --now {systemd.EDGE_UNIT} {systemd.SCHEDULER_UNIT} "
    f"{systemd.HEALTH_TIMER}"
)


@click.command(
    "install-service",
    help="Write the systemd units of the edge server, its scheduler and the health-check "
    "timer, and the journald limits that rotate the logs. Prints every file; --dry-run "
    "writes nothing.",
)
@click.option("--dry-run", is_flag=True, help="Print the files without writing them.")
@click.option(
    "--root",
    default="/",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Filesystem root to write under (a temporary folder for a trial run).",
)
@click.option("--user", default="clinic", show_default=True, help="Account the services run as.")
@click.option(
    "--port", default=443, show_default=True, type=click.IntRange(1, 65535), help="HTTPS port."
)
@click.option(
    "--unlock",
    type=click.Choice(systemd.UNLOCK_MODES),
    default="credential",
    show_default=True,
    help="How the services get the unlock secret at boot: a credential file (unattended), "
    "one encrypted with systemd-creds (bound to this laptop), or a PIN typed at boot.",
)
@click.option(
    "--credential",
    default="/etc/mobile-clinic/unlock-secret",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The unlock secret file (keygen --secret-file) or its systemd-creds encrypted form.",
)
@click.option("--plain-http", is_flag=True, help="Serve HTTP without TLS (not for vehicles).")
def install_service(
    dry_run: bool,
    root: Path,
    user: str,
    port: int,
    unlock: str,
    credential: Path,
    plain_http: bool,
) -> None:
    config = settings()
    where = paths(config)
    tls_files = TlsFiles(where.tls_dir)
    with errors():
        _check_ready(where, tls_files, unlock, credential, plain_http)
        options = systemd.ServiceSettings(
            edge_command=_command("clinic-edge"),
            provision_command=_command("clinic-provision"),
            data_dir=where.data_dir,
            secrets_dir=where.secrets_dir,
            user=user,
            port=port,
            tls_cert=None if plain_http else tls_files.server_cert,
            tls_key=None if plain_http else tls_files.server_key,
            ca_cert=None if plain_http else tls_files.ca_cert,
            unlock=unlock,
            credential=credential,
        )
        files = systemd.render(options)
        if dry_run:
            for relative, text in files.items():
                click.echo(f"# {root / relative}\n{text}")
            click.echo("Dry run: nothing was written.")
            return
        for path, changed in systemd.write(files, root):
            click.echo(f"{'wrote' if changed else 'unchanged'}: {path}")
    click.echo(f"Next: {NEXT_STEPS}")


@click.command(
    "health-check",
    help="Ask the edge's health endpoint; with --restart, restart the server when it has "
    "been up past the grace period but does not answer. Exit 1 when unhealthy. The "
    "health-check timer runs this every minute.",
)
@click.option("--url", required=True, help="Health endpoint, e.g. https://127.0.0.1/api/health.")
@click.option(
    "--ca-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Vehicle CA certificate to verify HTTPS with.",
)
@click.option("--restart", "unit", help="systemd unit to restart when it is hung.")
@click.option(
    "--grace",
    default=300,
    show_default=True,
    type=click.IntRange(0),
    help="Seconds after start (or a PIN prompt) before a silent server counts as hung.",
)
@click.option(
    "--timeout", default=10.0, show_default=True, type=float, help="Seconds to wait for an answer."
)
def health_check(
    url: str, ca_file: str | None, unit: str | None, grace: int, timeout: float
) -> None:
    with errors():
        result = health.check_and_heal(url, unit, ca_file, timeout, grace)
    if result.healthy:
        click.echo(f"healthy: {url}")
        return
    action = f"; restarted {unit}" if result.restarted else ""
    raise click.ClickException(f"unhealthy: {result.problem}{action}")


def _check_ready(
    where: EdgePaths, tls_files: TlsFiles, unlock: str, credential: Path, plain_http: bool
) -> None:
    """Refuse to write units that could not start: no certificate, no key, wrong secret."""
    if not plain_http and not tls_files.server_cert.exists():
        raise ProvisioningError("no TLS certificate yet: run `clinic-provision tls-cert` first")
    if not where.keystore.path.exists():
        raise ProvisioningError("no wrapped database key yet: run `clinic-provision keygen` first")
    if unlock == "credential":
        if not credential.exists():
            raise ProvisioningError(
                f"no unlock secret at {credential}: create it with "
                f"`clinic-provision keygen --secret-file {credential}`"
            )
        secret = read_secret_file(credential, "the unlock secret", "")
        unwrap(where.keystore.path.read_text(), secret)  # WrongSecret: the services could not boot


def _command(name: str) -> Path:
    """The console script installed beside this one (the same virtualenv)."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise ProvisioningError(f"{name} is not installed beside {sys.executable}")
    return path
