"""`clinic-provision`: the field technician's command group.

Each command lives in a module of `provisioning.commands` and is a thin layer over the
library modules of `provisioning`. Enrollment, initial load and wipe arrive with the sync
work.
"""

from __future__ import annotations

import os

import click

from provisioning.commands import backup, key, service, status, tls


@click.group(
    help="Prepare, maintain and retire vehicle laptops: the database key and its escrow, "
    "the vehicle's HTTPS certificate, the systemd services, backups, and a status screen. "
    "Reads the same EDGE_* settings as clinic-edge."
)
def main() -> None:
    # Keys and patient data pass through here: every file created is for its owner only.
    os.umask(0o077)


for command in (
    key.keygen,
    key.rotate_key,
    key.escrow,
    key.escrow_keypair,
    key.recover_key,
    tls.tls_cert,
    service.install_service,
    service.health_check,
    backup.backup,
    backup.verify_backup,
    backup.restore,
    status.status,
    status.doctor,
):
    main.add_command(command)
