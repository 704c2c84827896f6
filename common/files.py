"""Atomic, durable file writes: a temp file beside the target, fsync, rename, fsync the folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
PRIVATE_DIR_MODE = 0o700
# What SQLite keeps beside a database file; it creates them with the database's mode.
DATABASE_SIDECARS = ("-wal", "-shm", "-journal")


def write_atomic(path: Path, data: bytes, mode: int = SECRET_MODE) -> None:
    """Replace `path` with `data` so a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_new(path: Path, data: bytes, mode: int = SECRET_MODE) -> None:
    """Create `path` holding `data`, durably, only if it does not exist yet: FileExistsError
    otherwise, even when another process creates it at the same moment (a hard link never
    replaces a file, where a rename would), so two processes can never both think their
    copy is the one kept."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    fsync_dir(path.parent)


def rename_durably(source: Path, target: Path) -> None:
    """Rename and make the rename itself survive a power cut."""
    os.replace(source, target)
    fsync_dir(target.parent)


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_database(path: Path) -> None:
    """Make a SQLite database file its owner's alone before SQLite opens it: its folder is
    made 0700 when missing, the file is created 0600 (SQLite gives its WAL, shared-memory
    and journal files the database file's mode), and a file or sidecar left readable by
    others (made before this rule, or copied in) is narrowed to 0600. It holds patient data."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, SECRET_MODE))
    except FileExistsError:
        pass
    for file in (path, *(Path(f"{path}{suffix}") for suffix in DATABASE_SIDECARS)):
        _narrow(file)


def _narrow(path: Path) -> None:
    """0600 for a file of ours that others may read or write; others' files are left alone."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return
    if found.st_mode & 0o077 and found.st_uid == os.getuid():
        path.chmod(SECRET_MODE)
