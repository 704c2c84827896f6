"""`backup`, `verify-backup`, `restore`: the edge database on a USB stick and back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from provisioning import backup as backup_lib
from provisioning import keygen
from provisioning import restore as restore_lib
from provisioning.commands import database_key, errors, paths, settings, unlock_secret
from provisioning.errors import DatabaseInUse
from provisioning.key import fingerprint
from provisioning.systemd import EDGE_UNIT, SCHEDULER_UNIT, service_state

FOLDER = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command(
    help="Back up the edge database, encrypted with its own key, into a new folder under "
    "TARGET (e.g. a USB stick), with a checksum and a manifest. Safe while the edge serves."
)
@click.argument("target", type=FOLDER)
def backup(target: Path) -> None:
    config = settings()
    where = paths(config)
    with errors():
        key = database_key(config)
        folder = backup_lib.backup(where.database, key, target, report=click.echo)
        manifest = backup_lib.read_manifest(folder)
    _describe(folder, manifest)
    click.echo(f"Backup complete: {folder}")


@click.command(
    "verify-backup",
    help="Check a backup folder: checksum, manifest, that this laptop's key opens it, and "
    "the database's integrity. Exit 1 when anything is wrong.",
)
@click.argument("folder", type=FOLDER)
def verify_backup(folder: Path) -> None:
    config = settings()
    with errors():
        manifest = backup_lib.read_manifest(folder)
        backup_lib.verify(folder, _backup_key(config, manifest), report=click.echo)
    _describe(folder, manifest)
    click.echo(f"Backup is good: {folder}")


@click.command(
    help="Restore a backup over the edge database. Stop the edge first. The current database "
    "is kept aside (renamed, never deleted). A backup from another vehicle is refused unless "
    "--force, which asks you to type that vehicle's id."
)
@click.argument("folder", type=FOLDER)
@click.option("--force", is_flag=True, help="Allow a backup from another vehicle.")
def restore(folder: Path, force: bool) -> None:
    config = settings()
    where = paths(config)
    with errors():
        for unit in (EDGE_UNIT, SCHEDULER_UNIT):
            if service_state(unit) in ("active", "activating", "reloading"):
                raise DatabaseInUse(f"{unit} is running; stop it first: sudo systemctl stop {unit}")
        key = database_key(config)
        manifest = backup_lib.read_manifest(folder)
        backup_key = _backup_key(config, manifest, key)
        mismatch = restore_lib.clinic_mismatch(manifest, where.database, key)
        if mismatch:
            _confirm_other_clinic(mismatch, manifest, force)
        result = restore_lib.restore(
            folder, backup_key, key, where.database, allow_other_clinic=True, report=click.echo
        )
    _describe(folder, result.manifest)
    click.echo(f"Restored {where.database} from {folder}")
    click.echo(
        "This laptop is back at the backup's state. At its next sync head office finds "
        "that it holds newer work of this laptop: the laptop re-bases, brings that work "
        "back, and sends what is done from now on (`clinic-provision status` shows it). "
        "Sync as soon as a link is up."
    )
    if result.previous:
        click.echo(f"The previous database is kept at {result.previous}; delete it once checked.")
    with errors():
        standing = restore_lib.audit_standing(where.database, key, where.audit_key)
    for line in _audit_lines(standing, where.audit_key):
        click.echo(line)


def _audit_lines(standing: restore_lib.AuditStanding, path: Path) -> list[str]:
    """What the restore means for the audit trail's seals (docs/operations.md)."""
    if standing.key_id is None:
        return ["This backup predates the sealed audit trail: run `clinic-edge migrate` next."]
    lines = [f"Made this laptop's audit key: {path}"] if standing.made_key else []
    if standing.branch:
        lines.append(
            f"The audit trail goes on as a branch from record #{standing.branch + 1}: the "
            "records this laptop wrote after the backup stay at head office, both verify."
        )
    found = standing.unverifiable
    if found is None:
        return lines
    if found.other_keys:
        count, keys = sum(found.other_keys.values()), ", ".join(sorted(found.other_keys))
        lines.append(
            f"Warning: {count} audit record(s) are sealed under another laptop's audit key "
            f"({keys}), not this laptop's ({standing.key_id}): `clinic-edge audit verify` "
            "reports them as unverifiable here. The hub holds its own sealed copy of every "
            "record it received. If the old laptop's disk can still be read, put its "
            f"audit.key at {path} instead, before the edge starts."
        )
    if found.unsealed:
        lines.append(
            f"Warning: {found.unsealed} audit record(s) have no seal: "
            "`clinic-edge audit verify` names the first."
        )
    return lines


def _backup_key(
    config: dict[str, Any], manifest: backup_lib.Manifest, key: bytes | None = None
) -> bytes:
    key = key if key is not None else database_key(config)
    if fingerprint(key) == manifest.key_fingerprint:
        return key
    return keygen.retired_key(paths(config), unlock_secret(config), manifest.key_fingerprint)


def _confirm_other_clinic(mismatch: str, manifest: backup_lib.Manifest, force: bool) -> None:
    if not force:
        raise click.ClickException(f"{mismatch}; restore it here only with --force")
    expected = manifest.vehicle_id or manifest.node_id or ""
    click.echo(f"Warning: {mismatch}.")
    typed = click.prompt(f"Type {expected} to replace this laptop's data with that backup")
    if typed.strip() != expected:
        raise click.ClickException("confirmation did not match; nothing was changed")


def _describe(folder: Path, manifest: backup_lib.Manifest) -> None:
    rows = sum(manifest.row_counts.values())
    click.echo(f"  {manifest.clinic()}, schema {manifest.schema_revision}")
    click.echo(f"  made {manifest.created_at}, key {manifest.key_fingerprint}, {rows} rows")
    click.echo(f"  sha256 {manifest.sha256}")
