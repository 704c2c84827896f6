"""`clinic-provision`: the field technician's command group.

Each command lives in a module of `provisioning.commands` and is a thin layer over the
library modules of `provisioning`.
"""

from __future__ import annotations

import os

import click

from provisioning.commands import backup, enrollment, key, service, status, tls


@click.group(
    help="Prepare, maintain and retire vehicle laptops: the database key and its escrow, "
    "enrollment with the hub and the starting data, the vehicle's HTTPS certificate, the systemd "
    "services, backups, a status screen, and wiping a retired laptop. "
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
    enrollment.enroll,
    enrollment.initial_load,
    enrollment.wipe,
):
    main.add_command(command)
