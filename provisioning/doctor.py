"""One screen for the technician: is this laptop ready for the road, and if not, what to do.

Each check answers ok, attention (something must be done; the command exits non-zero) or
info (nothing to do yet, e.g. never synced before enrollment).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Engine, func, select

from common.database import DatabaseKeyError, new_session, sqlcipher_engine
from common.health import LOW_DISK_BYTES
from provisioning import edgedb
from provisioning.errors import KeyFileError
from provisioning.escrow import blob_fingerprint
from provisioning.key import fingerprint
from provisioning.paths import EdgePaths
from provisioning.systemd import EDGE_UNIT, SCHEDULER_UNIT, service_state
from provisioning.tls import TlsFiles, server_expiry
from schema import migrate
from schema.models import SyncChange, SyncLink, SyncNode

OK, ATTENTION, INFO = "ok", "attention", "info"
STALE_SYNC = dt.timedelta(days=3)
CERT_RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    summary: str
    advice: str | None = None


def run_checks(
    paths: EdgePaths,
    config: Mapping[str, Any],
    key: bytes | None,
    key_problem: str | None,
    now: dt.datetime | None = None,
) -> list[Check]:
    now = now or dt.datetime.now(dt.UTC)
    checks = [_key_check(paths, key, key_problem), _disk_check(paths)]
    if key is None or not paths.database.exists():
        summary = "no database yet" if key else "cannot look inside without the key"
        advice = "run `clinic-edge init`" if key else "give the unlock secret"
        checks.append(Check("database", ATTENTION, summary, advice))
    else:
        checks += _database_checks(paths.database, key, config, now)
    checks.append(_tls_check(TlsFiles(paths.tls_dir), now))
    checks += [_service_check(unit) for unit in (EDGE_UNIT, SCHEDULER_UNIT)]
    return checks


def needs_attention(checks: list[Check]) -> bool:
    return any(check.state == ATTENTION for check in checks)


def _key_check(paths: EdgePaths, key: bytes | None, problem: str | None) -> Check:
    store = paths.keystore
    if key is None:
        return Check("key", ATTENTION, problem or "locked", "check the unlock secret")
    if not store.exists():
        return Check(
            "key",
            ATTENTION,
            f"plaintext key {fingerprint(key)} (not wrapped)",
            "run `clinic-provision keygen` to wrap it under an unlock secret",
        )
    if store.pending.exists():
        return Check(
            "key",
            ATTENTION,
            f"{fingerprint(key)}: a key rotation was interrupted",
            "run `clinic-provision rotate-key` again to finish it",
        )
    return _escrow_check(paths, key)


def _escrow_check(paths: EdgePaths, key: bytes) -> Check:
    summary = f"wrapped, fingerprint {fingerprint(key)}"
    if not paths.escrow_blob.exists():
        return Check(
            "key", ATTENTION, f"{summary}; no escrow copy", "run `clinic-provision escrow`"
        )
    try:
        escrowed = blob_fingerprint(paths.escrow_blob.read_text())
    except KeyFileError:
        escrowed = "damaged"
    if escrowed != fingerprint(key):
        return Check(
            "key", ATTENTION, f"{summary}; escrow copy is stale", "run `clinic-provision escrow`"
        )
    return Check("key", OK, f"{summary}; escrowed for head office")


def _disk_check(paths: EdgePaths) -> Check:
    folder = paths.data_dir if paths.data_dir.exists() else Path(paths.data_dir.anchor)
    free = shutil.disk_usage(folder).free
    summary = f"{free / 1024**3:.1f} GB free in {folder}"
    if free < LOW_DISK_BYTES:
        return Check("disk", ATTENTION, summary, "free some space: old backups, logs")
    return Check("disk", OK, summary)


def _database_checks(
    database: Path, key: bytes, config: Mapping[str, Any], now: dt.datetime
) -> list[Check]:
    try:
        with edgedb.read_only(database, key) as conn:
            problems = edgedb.integrity_problems(conn)
    except DatabaseKeyError:  # the key is the laptop's own: its first pages are damaged
        summary = "damaged: does not open with this laptop's key (its first pages)"
        return [Check("database", ATTENTION, summary, "restore the latest backup")]
    except sqlcipher3.DatabaseError as error:
        return [Check("database", ATTENTION, f"damaged: {error}", "restore the latest backup")]
    integrity = (
        Check("database", ATTENTION, f"damaged: {problems[0]}", "restore the latest backup")
        if problems
        else Check("database", OK, f"{database} passes integrity and cipher checks")
    )
    engine = sqlcipher_engine(database, key)
    try:
        return [integrity, _migration_check(engine), *_sync_checks(engine, config, now)]
    finally:
        engine.dispose()


def _migration_check(engine: Engine) -> Check:
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current == head:
        return Check("migrations", OK, f"at head ({head})")
    return Check(
        "migrations",
        ATTENTION,
        f"at {current or 'empty'}, head is {head}",
        "run `clinic-edge migrate`",
    )


def _sync_checks(engine: Engine, config: Mapping[str, Any], now: dt.datetime) -> list[Check]:
    with new_session(engine) as session:
        node = session.scalar(select(SyncNode))
        link = session.scalar(select(SyncLink).order_by(SyncLink.last_success_at.desc()))
        pushed = link.pushed_seq if link else 0
        # only this laptop's own changes wait to be pushed; what it pulled is logged too
        own = SyncChange.node == (node.id if node else None)
        pending = session.scalar(
            select(func.count()).select_from(SyncChange).where(own, SyncChange.seq > pushed)
        )
    enrolled = node is not None and node.vehicle_id is not None
    enrollment = (
        Check("enrollment", OK, f"node {node.id}, vehicle {node.vehicle_id}")
        if enrolled and node
        else Check(
            "enrollment",
            ATTENTION,
            f"node {node.id if node else '(none)'}, not enrolled",
            "enroll this laptop with the hub (comes with the sync work)",
        )
    )
    return [enrollment, _last_sync_check(link, pending or 0, enrolled, config, now)]


def _last_sync_check(
    link: SyncLink | None, pending: int, enrolled: bool, config: Mapping[str, Any], now: dt.datetime
) -> Check:
    if link is None or link.last_success_at is None:
        state = ATTENTION if enrolled else INFO
        return Check("sync", state, f"never synced; {pending} changes waiting", "run a first sync")
    age = now - link.last_success_at
    offset = (link.clock_offset_ms or 0) / 1000
    summary = (
        f"last sync {link.last_success_at:%Y-%m-%d %H:%M} UTC; {pending} changes waiting; "
        f"clock offset {offset:+.1f} s"
    )
    if link.rebasing:
        return Check(
            "sync",
            ATTENTION,
            f"{summary}; re-basing after going back in time: {link.rebase_note}",
            "sync again with a link up: the laptop's own changes come back from head office",
        )
    if link.rebased_at is not None:
        summary += f"; re-based {link.rebased_at:%Y-%m-%d %H:%M} UTC after a restore"
    if abs(offset) > int(config.get("CLOCK_DRIFT_WARNING_SECONDS", 120)):
        return Check("sync", ATTENTION, summary, "set the laptop's clock (timedatectl)")
    if age > STALE_SYNC:
        return Check("sync", ATTENTION, summary, "bring the vehicle in range of a link and sync")
    return Check("sync", OK, summary)


def _tls_check(files: TlsFiles, now: dt.datetime) -> Check:
    expiry = server_expiry(files)
    if expiry is None:
        return Check("tls", ATTENTION, "no TLS certificate", "run `clinic-provision tls-cert`")
    summary = f"certificate valid until {expiry:%Y-%m-%d}"
    if expiry - now < CERT_RENEW_BEFORE:
        return Check("tls", ATTENTION, summary, "renew: run `clinic-provision tls-cert` again")
    return Check("tls", OK, summary)


def _service_check(unit: str) -> Check:
    state = service_state(unit)
    if state == "active":
        return Check(unit, OK, "active")
    if state == "unknown":
        return Check(unit, INFO, "unknown (no systemd here)")
    return Check(unit, ATTENTION, state, f"sudo systemctl enable --now {unit}")
