"""Encrypted, consistent online backups of the edge database, and their verification and restore.

A backup is a folder `clinic-backup-<node>-<UTC time>` holding `edge.db` (a copy encrypted
with the same key, made with SQLite's online backup API in one step, so it is a single
consistent snapshot while the edge keeps serving), `edge.db.sha256` (checkable with
`sha256sum -c`) and `manifest.json`. The folder is built under a hidden name and renamed
when complete, so a half-written backup never looks like a backup.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

from common.database import DatabaseKeyError, sqlcipher_connect
from common.files import PUBLIC_MODE, fsync_dir, fsync_file, rename_durably, write_atomic
from common.version import VERSION
from provisioning import edgedb
from provisioning.errors import BackupError, NotEnoughSpace
from provisioning.key import fingerprint

FORMAT = "mobile-clinic-backup"
FORMAT_VERSION = 1
DATABASE_FILE = "edge.db"
CHECKSUM_FILE = "edge.db.sha256"
MANIFEST_FILE = "manifest.json"
SPACE_MARGIN_BYTES = 16 * 1024 * 1024
CHUNK = 1024 * 1024

Report = Callable[[str], None]


def quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class Manifest:
    node_id: str | None
    vehicle_id: str | None
    schema_revision: str | None
    created_at: str
    key_fingerprint: str
    row_counts: dict[str, int]
    sha256: str
    size_bytes: int
    app_version: str = VERSION
    database_file: str = DATABASE_FILE
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def clinic(self) -> str:
        return describe_clinic(self.vehicle_id, self.node_id)


def backup(
    database: Path,
    key: bytes,
    target: Path,
    report: Report = quiet,
    now: dt.datetime | None = None,
) -> Path:
    """Back up `database` into a new folder under `target`; returns the folder."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    if not target.is_dir():
        raise BackupError(f"{target} is not a folder (is the USB stick mounted?)")
    size = _size_with_wal(database)
    require_space(target, size + SPACE_MARGIN_BYTES)
    now = now or dt.datetime.now(dt.UTC)
    with edgedb.read_only(database, key) as source:
        node = edgedb.facts(source).node_id or "unknown"
        name = f"clinic-backup-{node}-{now.strftime('%Y%m%dT%H%M%SZ')}"
        final, partial = target / name, target / f".{name}.partial"
        if final.exists():
            raise BackupError(f"{final} already exists")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(mode=0o700)
        try:
            report(f"Copying a consistent snapshot of the database ({_mb(size)}) ...")
            manifest_data = _snapshot(source, partial / DATABASE_FILE, key, now)
        except BaseException as error:
            shutil.rmtree(partial, ignore_errors=True)
            _raise_if_full(error, target)
            raise
    try:
        report("Checksumming ...")
        _seal(partial, manifest_data)
        rename_durably(partial, final)
    except BaseException as error:
        shutil.rmtree(partial, ignore_errors=True)
        _raise_if_full(error, target)
        raise
    return final


def verify(folder: Path, key: bytes, report: Report = quiet) -> Manifest:
    """Check a backup: manifest readable, checksum right, key opens it, integrity and row
    counts as recorded. Raises BackupError saying what is wrong."""
    manifest = read_manifest(folder)
    report("Checking the checksum ...")
    if sha256_file(folder / manifest.database_file) != manifest.sha256:
        raise BackupError(f"{folder}: checksum mismatch: the backup is damaged")
    if fingerprint(key) != manifest.key_fingerprint:
        raise BackupError(
            f"{folder} was made with key {manifest.key_fingerprint}, not this key "
            f"({fingerprint(key)})"
        )
    report("Checking the database inside ...")
    check_database(folder / manifest.database_file, key, manifest)
    return manifest


def read_manifest(folder: Path) -> Manifest:
    try:
        data: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_text())
        if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
            raise BackupError(f"{folder} is not a clinic backup this version can read")
        manifest = Manifest(**data)
        recorded = (folder / CHECKSUM_FILE).read_text().split()[0]
    except FileNotFoundError as error:
        raise BackupError(
            f"{folder} is not a complete backup: {Path(error.filename).name} is missing"
        ) from None
    except (ValueError, TypeError, IndexError):
        raise BackupError(f"{folder}: the manifest is damaged") from None
    if recorded != manifest.sha256:
        raise BackupError(f"{folder}: the checksum file and the manifest disagree")
    return manifest


def check_database(path: Path, key: bytes, manifest: Manifest) -> None:
    """The file opens with `key`, passes both integrity checks and holds the recorded rows."""
    try:
        with edgedb.read_only(path, key) as conn:
            problems = edgedb.integrity_problems(conn)
            found = edgedb.facts(conn)
    except DatabaseKeyError:
        raise BackupError(
            f"{path} does not open with this key: damaged (its first pages), or made under "
            "another key"
        ) from None
    except sqlcipher3.DatabaseError as error:
        raise BackupError(f"{path} fails its integrity check: {error}") from None
    if problems:
        raise BackupError(f"{path} fails its integrity check: {problems[0]}")
    if found.row_counts != manifest.row_counts or found.node_id != manifest.node_id:
        raise BackupError(f"{path} does not hold what its manifest records")


def describe_clinic(vehicle_id: str | None, node_id: str | None) -> str:
    return f"vehicle {vehicle_id or '(not enrolled)'}, node {node_id or '(none)'}"


def same_clinic(manifest: Manifest, facts: edgedb.Facts) -> bool:
    """Whether a backup belongs to this laptop's clinic: the same vehicle once enrolled,
    else the same node."""
    if manifest.vehicle_id and facts.vehicle_id:
        return manifest.vehicle_id == facts.vehicle_id
    return manifest.node_id == facts.node_id


def sha256_file(path: Path, report: Callable[[int, int], None] | None = None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if report:
                report(done, total)
    return digest.hexdigest()


def require_space(folder: Path, need: int) -> None:
    free = shutil.disk_usage(folder).free
    if free < need:
        raise NotEnoughSpace(
            f"not enough free space in {folder}: {_mb(need)} needed, {_mb(free)} free; "
            "nothing was written"
        )


def _snapshot(source: Any, path: Path, key: bytes, now: dt.datetime) -> dict[str, Any]:
    target = sqlcipher_connect(path, key)
    try:
        source.backup(target)  # one step: a single read transaction, a consistent snapshot
        target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        problems = edgedb.integrity_problems(target)
        found = edgedb.facts(target)
    finally:
        target.close()
    if problems:
        raise BackupError(f"the copy failed its integrity check: {problems[0]}")
    fsync_file(path)
    return {
        "node_id": found.node_id,
        "vehicle_id": found.vehicle_id,
        "schema_revision": found.revision,
        "created_at": now.isoformat(timespec="seconds"),
        "key_fingerprint": fingerprint(key),
        "row_counts": found.row_counts,
    }


def _seal(folder: Path, manifest_data: dict[str, Any]) -> None:
    database = folder / DATABASE_FILE
    digest = sha256_file(database)
    manifest = Manifest(**manifest_data, sha256=digest, size_bytes=database.stat().st_size)
    write_atomic(folder / CHECKSUM_FILE, f"{digest}  {DATABASE_FILE}\n".encode(), PUBLIC_MODE)
    body = json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n"
    write_atomic(folder / MANIFEST_FILE, body.encode(), PUBLIC_MODE)
    fsync_dir(folder)


def _size_with_wal(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def _raise_if_full(error: BaseException, target: Path) -> None:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        raise NotEnoughSpace(f"{target} filled up during the backup; nothing was kept") from None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"
