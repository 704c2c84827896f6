"""Creating, escrowing and rotating a laptop's database key.

Rotation survives a crash at any point: the new key is written wrapped to a pending file
first, the database is re-keyed in one SQLCipher transaction, and only then is the pending
key promoted by a rename. Unlocking tries the pending key when the current one no longer
opens the database, and running `rotate-key` again finishes or restarts the rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.config import read_secret_file
from common.database import DatabaseKeyError, parse_key
from common.files import PUBLIC_MODE, write_atomic
from provisioning import edgedb
from provisioning.errors import KeyFileError, ProvisioningError
from provisioning.escrow import blob_fingerprint, escrow_blob, load_public_key
from provisioning.key import (
    DEFAULT_KDF,
    KdfParams,
    KeyStore,
    check_new_secret,
    fingerprint,
    new_key,
    open_key,
    opens,
)
from provisioning.paths import EdgePaths


@dataclass(frozen=True)
class KeygenResult:
    fingerprint: str
    adopted: bool  # an existing plaintext key file was wrapped (and removed)
    escrowed: bool


def keygen(
    paths: EdgePaths,
    secret: str,
    escrow_public_pem: bytes | None,
    kdf: KdfParams = DEFAULT_KDF,
) -> KeygenResult:
    """Create this laptop's wrapped key; a plaintext key file from `clinic-edge init` is
    wrapped instead of replaced, so an existing database stays readable."""
    check_new_secret(secret)
    key, adopted = preflight(paths, escrow_public_pem)
    store = paths.keystore
    store.save(key, secret, kdf)
    if adopted:
        paths.raw_key.unlink()
    escrowed = False
    if escrow_public_pem is not None:
        write_atomic(paths.escrow_public_key, escrow_public_pem, PUBLIC_MODE)
        escrowed = write_escrow(paths, key, node_id=_node_id(paths, key))
    return KeygenResult(store.fingerprint(), adopted, escrowed)


def preflight(paths: EdgePaths, escrow_public_pem: bytes | None) -> tuple[bytes, bool]:
    """Every check keygen makes before it writes anything: the key it would wrap, and whether
    that key is adopted from a plaintext key file."""
    if paths.keystore.exists():
        raise ProvisioningError(
            f"this laptop already has a wrapped key ({paths.keystore.path}); "
            "use `clinic-provision rotate-key` to change it"
        )
    if escrow_public_pem is not None:
        load_public_key(escrow_public_pem)
    return _adopt_or_create(paths)


def write_escrow(paths: EdgePaths, key: bytes, node_id: str | None) -> bool:
    """(Re)write the escrow blob when it is missing or holds another key; True if written."""
    if not paths.escrow_public_key.exists():
        return False
    if paths.escrow_blob.exists() and _blob_matches(paths.escrow_blob, key):
        return False
    blob = escrow_blob(key, paths.escrow_public_key.read_bytes(), node_id=node_id)
    write_atomic(paths.escrow_blob, blob.encode())
    return True


def retired_key(paths: EdgePaths, secret: str, key_fingerprint: str) -> bytes:
    """A key this laptop used before a rotation, for backups made with it."""
    retired = paths.keystore.retired(key_fingerprint)
    if not retired.exists():
        raise KeyFileError(
            f"the backup was made with key {key_fingerprint}, which this laptop does not have; "
            "head office can recover it from its escrow copy (`clinic-provision recover-key`)"
        )
    return KeyStore(retired).unlock(secret)


@dataclass(frozen=True)
class RotateResult:
    old_fingerprint: str
    new_fingerprint: str
    rows: int
    resumed: bool  # an interrupted rotation was finished rather than a new one made


def rotate(paths: EdgePaths, secret: str, kdf: KdfParams = DEFAULT_KDF) -> RotateResult:
    """Re-key the database with a fresh key, keeping every row."""
    store = paths.keystore
    if not paths.database.exists():
        raise ProvisioningError(f"no database at {paths.database}; run `clinic-edge init` first")
    current = open_key(store, secret, paths.database)
    pending = store.unlock_pending(secret)
    if pending is not None and pending == current:  # re-keyed, but not yet promoted
        old = store.fingerprint() if store.path.exists() else fingerprint(current)
        store.promote()
        write_escrow(paths, current, _node_id(paths, current))
        rows = _total_rows(paths.database, current)
        return RotateResult(old, fingerprint(current), rows, resumed=True)
    store.pending.unlink(missing_ok=True)  # a rotation cut off before the re-key: start again
    fresh = new_key()
    store.save_pending(fresh, secret, kdf)
    with edgedb.exclusive(paths.database, current) as conn:
        before = edgedb.row_counts(conn, edgedb.table_names(conn))
        conn.execute(f"PRAGMA rekey = \"x'{fresh.hex()}'\"")
    with edgedb.read_only(paths.database, fresh) as conn:
        after = edgedb.row_counts(conn, edgedb.table_names(conn))
    if after != before:
        raise ProvisioningError("row counts changed during re-keying; the edge was not stopped")
    store.promote()
    write_escrow(paths, fresh, _node_id(paths, fresh))
    return RotateResult(fingerprint(current), fingerprint(fresh), sum(after.values()), False)


def _adopt_or_create(paths: EdgePaths) -> tuple[bytes, bool]:
    if paths.raw_key.exists():
        raw = read_secret_file(paths.raw_key, "the database key", "")
        try:
            key = parse_key(raw)
        except ValueError as error:
            raise KeyFileError(f"{paths.raw_key}: {error}") from None
        if paths.database.exists() and not opens(paths.database, key):
            raise KeyFileError(f"the key in {paths.raw_key} does not open {paths.database}")
        return key, True
    if paths.database.exists():
        raise KeyFileError(
            f"a database exists at {paths.database} but this laptop has no key for it; "
            "restore its key (head office can recover it from escrow) instead of making a new one"
        )
    return new_key(), False


def _blob_matches(path: Path, key: bytes) -> bool:
    try:
        return blob_fingerprint(path.read_text()) == fingerprint(key)
    except KeyFileError:
        return False


def _node_id(paths: EdgePaths, key: bytes) -> str | None:
    if not paths.database.exists():
        return None
    try:
        with edgedb.read_only(paths.database, key) as conn:
            return edgedb.facts(conn).node_id
    except DatabaseKeyError:
        return None


def _total_rows(database: Path, key: bytes) -> int:
    with edgedb.read_only(database, key) as conn:
        return sum(edgedb.row_counts(conn, edgedb.table_names(conn)).values())
