"""Enrolling this laptop with the hub, running a sync, scheduling with backoff, and
the status the crew and the technician see."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

import schema
from common.config import ConfigError, read_secret_file, write_secret_file
from common.files import PUBLIC_MODE, write_atomic
from common.version import VERSION
from sync import digest, signing
from sync.clock import naive_utc, wall_millis
from sync.edge import HUB, EdgeSync, Loaded, Progress, Result
from sync.transport import HttpTransport, SyncError, pinned_session, refusal, unreachable

ENROLL_PATH = "/api/sync/enroll"
RETIRE_PATH = "/api/sync/retire"
DEVICE_KEY = "device.key"
ENROLLMENT = "enrollment.json"
MAX_BACKOFF_SECONDS = 3600
NOT_ENROLLED = (
    "this laptop is not enrolled with a hub; run `clinic-edge enroll --hub URL --token T`"
)


@dataclass(frozen=True)
class Enrollment:
    hub_url: str
    device_id: str
    vehicle_id: str
    receipt_public_key: str
    tls_fingerprint: str | None = None  # SHA-256 of the hub's certificate seen at enrollment
    ca_file: str | None = None  # the CA bundle that signs the hub's certificate


def enroll(
    engine: Engine,
    secrets_dir: Path,
    hub_url: str,
    token: str,
    verify: bool | str = True,
    tls_fingerprint: str | None = None,
    key_escrow: str | None = None,
) -> Enrollment:
    """Register this laptop with the hub using a one-time token: make its key pair, keep
    the private key owner-only in the secrets folder, and bind the database to the
    vehicle the token was issued for."""
    if (secrets_dir / ENROLLMENT).exists():
        raise ConfigError(f"this laptop is already enrolled ({secrets_dir / ENROLLMENT})")
    with engine.connect() as connection:
        device_id = connection.execute(text("SELECT id FROM sync_node")).scalar()
    if not device_id:
        raise ConfigError("the database has no node identity; run `clinic-edge init` first")
    key = signing.new_private_key()
    body = {
        "token": token,
        "device_id": device_id,
        "public_key": signing.public_key_text(key),
        "name": socket.gethostname()[:120] or device_id,
        "app_version": VERSION,
        "key_escrow": key_escrow,
    }
    data = _post(hub_url.rstrip("/") + ENROLL_PATH, body, verify)
    enrollment = Enrollment(
        hub_url.rstrip("/"),
        device_id,
        data["vehicle_id"],
        data["receipt_public_key"],
        tls_fingerprint,
        verify if isinstance(verify, str) else None,
    )
    write_secret_file(secrets_dir / DEVICE_KEY, signing.private_key_text(key))
    write_atomic(
        secrets_dir / ENROLLMENT, json.dumps(enrollment.__dict__, indent=2).encode(), PUBLIC_MODE
    )
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE sync_node SET vehicle_id = :v"), {"v": enrollment.vehicle_id}
        )
    return enrollment


def _post(url: str, body: dict[str, Any], verify: bool | str) -> dict[str, Any]:
    try:
        response = requests.post(url, json=body, timeout=(10, 60), verify=verify)
    except requests.RequestException as error:
        raise ConfigError(f"cannot reach the hub at {url}: {type(error).__name__}") from None
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    if response.status_code != 201:
        raise ConfigError(
            f"the hub refused the enrollment: {payload.get('error', response.status_code)}"
        )
    return payload["data"]


def enrollment(secrets_dir: Path) -> Enrollment:
    path = secrets_dir / ENROLLMENT
    if not path.exists():
        raise ConfigError(NOT_ENROLLED)
    return Enrollment(**json.loads(path.read_text()))


def client(engine: Engine, config: Mapping[str, Any]) -> EdgeSync:
    """The sync client of this laptop, talking to the hub it enrolled with."""
    secrets_dir = Path(config["SECRETS_DIR"])
    enrolled = enrollment(secrets_dir)
    transport = HttpTransport(
        enrolled.hub_url,
        enrolled.device_id,
        _device_key(secrets_dir),
        verify=_verify(config, enrolled),
        pin=enrolled.tls_fingerprint,
    )
    return EdgeSync(
        engine,
        schema.synced_tables(),
        transport,
        hub_key=enrolled.receipt_public_key,
        app_version=VERSION,
    )


def _device_key(secrets_dir: Path) -> Ed25519PrivateKey:
    return signing.load_private_key(
        read_secret_file(secrets_dir / DEVICE_KEY, "the device key", "enroll again")
    )


def _verify(config: Mapping[str, Any], enrolled: Enrollment) -> bool | str:
    return config.get("HUB_CA_FILE") or enrolled.ca_file or True


def retire(engine: Engine, config: Mapping[str, Any]) -> None:
    """Tell the hub, signed with the device key, that this laptop is being wiped, so the
    key is refused from now on. Raises SyncError when the hub cannot be told."""
    secrets_dir = Path(config["SECRETS_DIR"])
    enrolled = enrollment(secrets_dir)
    offset = (_link(engine) or {}).get("clock_offset_ms") or 0
    headers = signing.sign_request(
        _device_key(secrets_dir),
        enrolled.device_id,
        "POST",
        RETIRE_PATH,
        b"",
        wall_millis() - offset,
    )
    try:
        response = pinned_session(enrolled.tls_fingerprint).post(
            enrolled.hub_url + RETIRE_PATH,
            data=b"",
            headers=headers.as_dict(),
            timeout=(10, 60),
            verify=_verify(config, enrolled),
        )
    except requests.RequestException as error:
        raise unreachable(error, enrolled.tls_fingerprint) from None
    if response.status_code != 200:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        raise refusal(response.status_code, payload if isinstance(payload, dict) else {})


def run(engine: Engine, config: Mapping[str, Any]) -> Result:
    """One sync now; raises SyncError (recorded on the link) when it fails. A laptop that
    has never pulled (or whose starting snapshot was interrupted) first takes the
    snapshot in bulk chunks, as `clinic-provision initial-load` does, instead of pulling
    the vehicle's whole history change by change; `pulled` and `exchanges` count both."""
    edge = client(engine, config)
    loaded = edge.load()
    result = edge.run()
    return replace(
        result, pulled=result.pulled + loaded.rows, exchanges=result.exchanges + loaded.chunks
    )


def load(engine: Engine, config: Mapping[str, Any], progress: Progress, limit: int) -> Loaded:
    """The vehicle's starting snapshot in chunks of `limit` rows (nothing once this laptop
    has pulled); resumes an interrupted one. Raises SyncError when it fails. `run` does
    this too; provisioning calls it first to show progress and time the snapshot."""
    return client(engine, config).load(progress, limit)


def due(engine: Engine, interval_seconds: int, now: dt.datetime) -> bool:
    """Whether the scheduler should sync now: every interval, backing off exponentially
    (up to an hour) after consecutive failures, so an unreachable hub is not hammered."""
    link = _link(engine)
    if link is None or not link["failures"] or link["last_error_at"] is None:
        return True
    wait = min(interval_seconds * 2 ** min(link["failures"], 12), MAX_BACKOFF_SECONDS)
    return naive_utc(now) >= link["last_error_at"] + dt.timedelta(seconds=wait)


def scheduled_sync(engine: Engine, config: Mapping[str, Any]) -> str:
    """The scheduler's job: sync if due; a failure is recorded, never raised."""
    if not due(engine, int(config["SYNC_INTERVAL_SECONDS"]), dt.datetime.now(dt.UTC)):
        return "backing off after failures"
    try:
        result = run(engine, config)
    except (SyncError, ConfigError) as error:
        return f"failed: {error}"
    return f"synced: {result.pushed} sent, {result.pulled} received"


def status(engine: Engine, config: Mapping[str, Any]) -> dict[str, Any]:
    """Pending changes, last success and error, lag, clock offset and quarantine."""
    link = _link(engine) or {}
    with engine.connect() as connection:
        node = connection.execute(text("SELECT id, vehicle_id FROM sync_node")).first()
        node_id = node.id if node else None
        pending = connection.execute(
            text("SELECT count(*), max(seq) FROM sync_change WHERE node = :n AND seq > :s"),
            {"n": node_id, "s": link.get("pushed_seq", 0)},
        ).first()
        newest = connection.execute(
            text("SELECT max(seq) FROM sync_change WHERE node = :n"), {"n": node_id}
        ).scalar()
        held = connection.execute(
            text("SELECT count(*) FROM sync_quarantine WHERE resolved_at IS NULL")
        ).scalar()
    receipt = json.loads(link["receipt"])["receipt"] if link.get("receipt") else None
    offset = link.get("clock_offset_ms")
    drift = offset is not None and abs(offset) > 1000 * int(config["CLOCK_DRIFT_WARNING_SECONDS"])
    last_success = link.get("last_success_at")
    # synced: the hub's signed receipt covers exactly our log, with our own digest, none
    # of ours waits in its quarantine, and no re-base is under way
    confirmed = bool(
        receipt
        and receipt.get("through") == link.get("pushed_seq")
        and (newest or 0) <= link.get("pushed_seq", 0)
        and receipt.get("digest") == (link.get("digest") or digest.GENESIS)
        and not receipt.get("held")
        and not link.get("rebasing")
    )
    return {
        "enrolled": (Path(config["SECRETS_DIR"]) / ENROLLMENT).exists(),
        "device_id": node_id,
        "vehicle_id": node.vehicle_id if node else None,
        "pending_changes": pending[0] if pending else 0,
        "synced": confirmed and not (pending and pending[0]),
        "receipt": receipt,
        "last_attempt_at": link.get("last_attempt_at"),
        "last_success_at": last_success,
        "last_error": link.get("last_error"),
        "failures": link.get("failures", 0),
        "lag_seconds": _lag(last_success),
        "clock_offset_ms": offset,
        "clock_warning": _drift_warning(offset) if drift and offset is not None else None,
        "quarantined": held or 0,
        "held_back": (receipt or {}).get("held", 0),
        "refused": (receipt or {}).get("refused", 0),
        "rebased_at": link.get("rebased_at"),
        "rebase": link.get("rebase_note"),
    }


def _drift_warning(offset: int) -> str:
    side = "ahead of" if offset > 0 else "behind"
    return (
        f"this laptop's clock is {abs(offset) // 1000} s {side} the hub; set the time "
        "(sync still orders changes correctly)"
    )


def _lag(last_success: dt.datetime | None) -> int | None:
    if last_success is None:
        return None
    return int((naive_utc(dt.datetime.now(dt.UTC)) - last_success).total_seconds())


def _link(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = (
            connection.execute(text("SELECT * FROM sync_link WHERE peer = :p"), {"p": HUB})
            .mappings()
            .first()
        )
    if row is None:
        return None
    values = dict(row)
    for key in ("last_error_at", "last_success_at", "last_attempt_at", "rebased_at"):
        if isinstance(values.get(key), str):
            values[key] = dt.datetime.fromisoformat(values[key])
    return values
