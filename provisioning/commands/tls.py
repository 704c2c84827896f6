"""`tls-cert`: the vehicle CA and the edge's HTTPS certificate."""

from __future__ import annotations

from pathlib import Path

import click

from provisioning import tls
from provisioning.commands import errors, paths, settings


@click.command(
    "tls-cert",
    help="Create the vehicle's CA (once) and issue the edge's HTTPS certificate for the "
    "vehicle LAN. Run again to renew the certificate from the same CA; tablets keep "
    "trusting it. localhost and 127.0.0.1 are always included.",
)
@click.option(
    "--hostname",
    "hostnames",
    multiple=True,
    default=("clinic.local",),
    show_default=True,
    help="A name tablets use to reach the edge (repeat for several).",
)
@click.option(
    "--ip",
    "ips",
    multiple=True,
    help="The laptop's address on the vehicle LAN, e.g. 192.168.50.1 (repeat for several).",
)
@click.option("--vehicle", default=None, help="Vehicle name shown in the CA (default: node id).")
@click.option(
    "--days",
    default=tls.SERVER_DAYS,
    show_default=True,
    type=click.IntRange(1, tls.SERVER_DAYS),
    help="How long the server certificate is valid.",
)
@click.option(
    "--new-ca", is_flag=True, help="Replace the vehicle CA (every tablet must trust it again)."
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the files (default: EDGE_SECRETS_DIR/tls).",
)
def tls_cert(
    hostnames: tuple[str, ...],
    ips: tuple[str, ...],
    vehicle: str | None,
    days: int,
    new_ca: bool,
    out_dir: Path | None,
) -> None:
    files = tls.TlsFiles(out_dir or paths(settings()).tls_dir)
    with errors():
        issued = tls.issue(files, vehicle or "vehicle", list(hostnames), list(ips), days, new_ca)
    click.echo("Created the vehicle CA" if issued.ca_created else "Kept the existing vehicle CA")
    click.echo(f"  CA certificate for the tablets: {files.ca_cert}")
    click.echo(f"  CA SHA-256 fingerprint: {issued.ca_fingerprint}")
    click.echo(
        f"  server certificate: {files.server_cert} (valid until {issued.not_after:%Y-%m-%d})"
    )
    click.echo(f"  server key: {files.server_key} (owner-only)")
    click.echo(f"  names: {', '.join(issued.names)}")
    if issued.ca_created:
        click.echo("Install the CA certificate on every tablet (docs/operations.md).")
