"""Restoring a backup over the edge database, never losing the database it replaces.

The backup is verified, copied beside the database and verified again there (re-keyed to
this laptop's current key if it was made before a key rotation); only then is the current
database renamed aside (kept, never deleted) and the copy renamed into place. If the
restored database then fails its check, the old one is put back.

A backup holds no key, neither the database's nor the audit trail's (`audit.key`): both
stay on the laptop. Restored on the same laptop, the audit trail verifies as before. On
a replacement laptop the old audit key is gone with the old laptop: `audit_standing`
makes the new laptop its own key and counts the records sealed under the old one, which
can no longer be verified there (the hub holds its own sealed copy of all it received).
A restore seals nothing: it cannot tell a record of the old laptop from a forged one.
"""

from __future__ import annotations

import datetime as dt
import shutil
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import inspect

from common import audit, auditseal
from common.auditseal import SealKey, Unverifiable
from common.database import DatabaseKeyError, sqlcipher_engine
from common.files import fsync_file, rename_durably
from provisioning import edgedb
from provisioning.backup import (
    SPACE_MARGIN_BYTES,
    BackupError,
    Manifest,
    Report,
    check_database,
    describe_clinic,
    quiet,
    require_space,
    same_clinic,
    sha256_file,
    verify,
)

SIDECARS = ("", "-wal", "-shm")


@dataclass(frozen=True)
class Restored:
    manifest: Manifest
    previous: Path | None  # where the replaced database was kept


def restore(
    folder: Path,
    backup_key: bytes,
    key: bytes,
    database: Path,
    allow_other_clinic: bool = False,
    report: Report = quiet,
    now: dt.datetime | None = None,
) -> Restored:
    """Replace `database` with the backup in `folder`. `backup_key` opens the backup; `key`
    is the laptop's current key, which the restored database ends up under."""
    manifest = verify(folder, backup_key, report)
    mismatch = clinic_mismatch(manifest, database, key)
    if mismatch and not allow_other_clinic:
        raise BackupError(f"{mismatch}; restore it here only with --force")
    current = _current_facts(database, key)
    database.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    require_space(database.parent, manifest.size_bytes + SPACE_MARGIN_BYTES)
    staging = database.with_name(database.name + ".restoring")
    try:
        _stage(folder / manifest.database_file, staging, manifest, backup_key, key, report)
        report("Swapping the restored database into place ...")
        previous = _swap(staging, database, key, current is not None, now)
    finally:
        staging.unlink(missing_ok=True)
    try:
        check_database(database, key, manifest)
    except BackupError:
        _put_back(database, previous)
        raise
    return Restored(manifest, previous)


@dataclass(frozen=True)
class AuditStanding:
    """What this laptop's audit key can vouch for in a restored database."""

    key_id: str | None  # None: the database predates sealing (`clinic-edge migrate` next)
    made_key: bool  # the laptop had no audit key (a replacement): this restore made it
    unverifiable: Unverifiable | None
    branch: int = 0  # the number after which the laptop's next audit records start


def audit_standing(database: Path, key: bytes, audit_key: Path) -> AuditStanding:
    """After a restore: make this laptop's audit key when it has none, count the records
    it cannot verify (sealed under another laptop's key, or not sealed), and start the
    trail's next records on a branch of their own (`common.audit.branch_after_restore`):
    head office holds this laptop's records past the backup under the numbers it would
    use next."""
    engine = sqlcipher_engine(database, key)
    try:
        if not inspect(engine).has_table("audit_seal"):
            with engine.begin() as connection:
                branch = audit.branch_after_restore(connection, None)
            return AuditStanding(None, False, None, branch)
        made = not audit_key.exists()
        seal_key = _made_or_loaded(audit_key) if made else _loaded(audit_key)
        with engine.begin() as connection:
            found = auditseal.unverifiable(connection, seal_key)
            branch = audit.branch_after_restore(connection, seal_key)
        return AuditStanding(seal_key.id, made, found, branch)
    finally:
        engine.dispose()


def _made_or_loaded(path: Path) -> SealKey:
    try:
        return auditseal.create_key(path)
    except FileExistsError:
        return _loaded(path)


def _loaded(path: Path) -> SealKey:
    return auditseal.load(path, "restore it from the laptop's secrets, or remove it")


def clinic_mismatch(manifest: Manifest, database: Path, key: bytes) -> str | None:
    """Why the backup belongs to another clinic than this laptop's database, or None."""
    current = _current_facts(database, key)
    if current is None or same_clinic(manifest, current):
        return None
    here = describe_clinic(current.vehicle_id, current.node_id)
    return f"this backup is from {manifest.clinic()} but this laptop is {here}"


def _current_facts(database: Path, key: bytes) -> edgedb.Facts | None:
    """The current database's identity; None when there is none or it cannot be read
    (a damaged database is exactly what a restore is for)."""
    if not database.exists():
        return None
    try:
        with edgedb.read_only(database, key) as conn:
            return edgedb.facts(conn)
    except (DatabaseKeyError, sqlcipher3.DatabaseError):
        return None


def _stage(
    source: Path, staging: Path, manifest: Manifest, backup_key: bytes, key: bytes, report: Report
) -> None:
    report(f"Copying the backup beside the database ({staging}) ...")
    shutil.copyfile(source, staging)
    staging.chmod(0o600)
    fsync_file(staging)
    if sha256_file(staging) != manifest.sha256:
        raise BackupError("the copy of the backup does not match its checksum (failing disk?)")
    if backup_key != key:
        report("Re-keying the restored copy to this laptop's current key ...")
        with edgedb.exclusive(staging, backup_key) as conn:
            conn.execute(f"PRAGMA rekey = \"x'{key.hex()}'\"")
    report("Verifying the copy ...")
    check_database(staging, key, manifest)


def _swap(
    staging: Path, database: Path, key: bytes, readable: bool, now: dt.datetime | None
) -> Path | None:
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    aside = database.with_name(f"{database.name}.before-restore-{stamp}")
    if not database.exists():
        rename_durably(staging, database)
        return None
    guard: Any = edgedb.exclusive(database, key) if readable else nullcontext()
    with guard:  # refuses while the edge server has the database open
        for suffix in SIDECARS:
            if Path(f"{database}{suffix}").exists():
                rename_durably(Path(f"{database}{suffix}"), Path(f"{aside}{suffix}"))
        rename_durably(staging, database)
    return aside


def _put_back(database: Path, previous: Path | None) -> None:
    if previous is None:
        return
    database.unlink(missing_ok=True)
    for suffix in SIDECARS:
        if Path(f"{previous}{suffix}").exists():
            rename_durably(Path(f"{previous}{suffix}"), Path(f"{database}{suffix}"))
