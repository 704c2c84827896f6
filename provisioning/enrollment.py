"""Joining a vehicle's laptop to the hub, loading its starting data, and retiring it:
thin over the edge's sync service, with the checks a field technician needs."""

from __future__ import annotations

import shutil
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cryptography import x509
from sqlalchemy import Engine

from common.config import ConfigError
from edge.sync import service as edge_sync
from provisioning.errors import ProvisioningError
from provisioning.paths import EdgePaths
from provisioning.tls import cert_fingerprint
from sync.edge import Progress, Result
from sync.snapshot import CHUNK_ROWS
from sync.transport import SyncError

HUB_CA = "hub-ca.pem"
CONNECT_SECONDS = 10

Report = Callable[[str], None]
T = TypeVar("T")


def hub_fingerprint(hub_url: str, ca_file: str | None) -> str | None:
    """SHA-256 of the hub's TLS certificate, after verifying it against `ca_file` (or the
    system's CAs) and the host name; None for a plain-HTTP hub (a test or a LAN lab)."""
    parts = urlsplit(hub_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProvisioningError(f"{hub_url} is not a hub URL; give e.g. https://hub.example.org")
    if parts.scheme == "http":
        return None
    context = ssl.create_default_context(cafile=ca_file)
    try:
        address = (parts.hostname, parts.port or 443)
        with (
            socket.create_connection(address, timeout=CONNECT_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as error:
        raise ProvisioningError(
            f"the hub's TLS certificate is not trusted ({error.verify_message}); "
            "give head office's CA with --ca-file"
        ) from None
    except OSError as error:
        raise ProvisioningError(
            f"cannot reach the hub at {hub_url}: {type(error).__name__}"
        ) from None
    if not der:
        raise ProvisioningError(f"the hub at {hub_url} sent no certificate")
    return cert_fingerprint(x509.load_der_x509_certificate(der))


def enroll(
    engine: Engine, paths: EdgePaths, hub_url: str, token: str, ca_file: str | None
) -> edge_sync.Enrollment:
    """Enroll with a one-time token, pinning the hub certificate's fingerprint and uploading
    the key's escrow copy; on any refusal nothing on the laptop has changed."""
    fingerprint = hub_fingerprint(hub_url, ca_file)
    kept = paths.secrets_dir / HUB_CA  # the scheduler's syncs trust the same CA
    escrow = paths.escrow_blob.read_text() if paths.escrow_blob.exists() else None
    if ca_file:
        paths.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(ca_file, kept)
    try:
        return edge_sync.enroll(
            engine,
            paths.secrets_dir,
            hub_url,
            token,
            str(kept) if ca_file else True,
            fingerprint,
            escrow,
        )
    except ConfigError as error:
        if ca_file:
            kept.unlink(missing_ok=True)
        raise ProvisioningError(str(error)) from None


def initial_load(
    engine: Engine,
    config: Mapping[str, Any],
    report: Report,
    progress: Progress | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Result:
    """Pull the vehicle's starting data: its snapshot in large chunks (each committed with
    its position, so an interrupted load resumes where it stopped when run again), then
    sync exchanges for what changed meanwhile and the laptop's own work."""
    started = time.monotonic()
    loaded = _sync(lambda: edge_sync.load(engine, config, progress or _quiet, chunk_rows))
    if loaded.chunks:
        report(
            f"  snapshot: {loaded.rows} rows applied in {loaded.chunks} chunk(s), "
            f"{time.monotonic() - started:.1f} s"
        )
    result = _sync(lambda: edge_sync.run(engine, config))
    report(
        f"  {result.pulled} rows received and {result.pushed} sent in {result.exchanges} "
        f"exchange(s), {time.monotonic() - started:.1f} s"
    )
    return result


def _quiet(done: int, total: int | None) -> None:
    return None


def _sync(step: Callable[[], T]) -> T:
    try:
        return step()
    except (SyncError, ConfigError) as error:
        raise ProvisioningError(f"sync failed: {error}; run the command again to resume") from None


def unconfirmed(engine: Engine, config: Mapping[str, Any]) -> str | None:
    """Why wiping would lose work (None when the hub's signed receipt covers everything)."""
    state = edge_sync.status(engine, config)
    if state["synced"]:
        return None
    pending = state["pending_changes"]
    return (
        f"{pending} local change(s) are not yet confirmed by the hub's signed receipt; "
        "sync first (`clinic-edge sync`)"
    )


def retire(engine: Engine, config: Mapping[str, Any]) -> None:
    """Tell the hub this laptop is retired: its device key is refused from now on."""
    try:
        edge_sync.retire(engine, config)
    except (SyncError, ConfigError) as error:
        raise ProvisioningError(f"could not tell the hub this laptop is retired: {error}") from None


def destroy(paths: EdgePaths) -> list[Path]:
    """Delete the keys, the enrollment and the database files; key files are overwritten
    first. Returns what was removed."""
    keys = [
        paths.wrapped_key,
        paths.raw_key,
        paths.secrets_dir / edge_sync.DEVICE_KEY,
        paths.secrets_dir / edge_sync.ENROLLMENT,
        paths.secrets_dir / HUB_CA,
        paths.escrow_blob,
        paths.audit_key,
    ]
    database = [Path(f"{paths.database}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    removed = []
    for path in keys + database:
        if not path.exists():
            continue
        if path in keys:
            with path.open("r+b") as handle:
                handle.write(b"\0" * path.stat().st_size)
        path.unlink()
        removed.append(path)
    return removed
