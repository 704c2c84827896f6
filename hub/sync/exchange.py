"""The hub's sync engine for this app: the `sync.hub.HubExchange` over the app's
database, signing receipts with the hub's key. Served by `clinic-hub serve`, it applies
`SYNC_APPLY_SLOTS` batches at once inline and stores the rest for its drain thread.
Whatever applies a batch (inline or the drain), `on_applied` then looks for duplicate
patients and seals the audit records received under the hub's audit key, in the
batch's transaction."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Connection

import schema
from common import auditseal
from common.auditseal import SealKey
from common.config import read_secret_file, write_secret_file
from common.database import db
from sync import signing
from sync.change import FULL_OPS, Change
from sync.hub import AppliedHook, ApplySlots, HubExchange
from sync.rules import HOUR_MS

KEY_HINT = "run `clinic-hub migrate` first"


def ensure_receipt_key(path: Path) -> bool:
    """Create the hub's receipt-signing key unless it exists; True when created."""
    if path.exists():
        return False
    write_secret_file(path, signing.private_key_text(signing.new_private_key()))
    return True


def receipt_public_key(app: Flask) -> str:
    """What an enrolling edge stores to check the hub's receipts."""
    return signing.public_key_text(_receipt_key(app))


def hub_exchange() -> HubExchange:
    """The app's exchange, made on first use (the factory opens no files or connections)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    exchange = app.extensions.get("clinic.sync")
    if exchange is None:
        draining = app.config.get("SYNC_DRAIN", False)
        exchange = HubExchange(
            db.engine,
            schema.synced_tables(),
            _receipt_key(app),
            on_applied=on_applied(auditseal.key_for(db.engine)),
            slots=ApplySlots(app.config["SYNC_APPLY_SLOTS"]) if draining else None,
            max_ahead_ms=app.config.get("SYNC_MAX_AHEAD_HOURS", 24) * HOUR_MS,
        )
        app.extensions["clinic.sync"] = exchange
    return exchange


def on_applied(audit_key: SealKey) -> AppliedHook:
    """What head office does as a device's batch is applied, in its transaction: pair
    duplicate patients, tell of emergency accounts, of two laptops' visits of one
    patient and of visits on patients deactivated meanwhile, and seal the audit records
    received (`seal_received`)."""
    from hub.sync import deactivation, duplicate, emergency, twins

    def applied(connection: Connection, changes: Sequence[Change]) -> None:
        duplicate.detect(connection, changes)
        emergency.notice(connection, changes)
        twins.notice(connection, changes)
        deactivation.notice(connection, changes)
        seal_received(connection, changes, audit_key)

    return applied


def seal_received(connection: Connection, changes: Sequence[Change], key: SealKey) -> int:
    """Seal the audit records of an applied batch under the hub's audit key, as stored:
    with the `prev_hash` and `hash` the hub worked out itself where the batch left them
    out (protocol, section 5c), and only those stored (a change held in quarantine is
    not; one applied before keeps its seal)."""
    received = [
        change.row_id
        for change in changes
        if change.table == "audit_record" and change.op in FULL_OPS
    ]
    return auditseal.seal_unsealed(connection, key, received) if received else 0


def start_drain(app: Flask) -> threading.Thread:
    """Let this process store the pushes it has no apply slot for, and apply them in a
    daemon thread for as long as the process runs. Only for a serving process: without
    a drain (a test client, a one-off command) every push is applied inline."""
    app.config["SYNC_DRAIN"] = True
    with app.app_context():
        exchange = hub_exchange()
    thread = threading.Thread(target=exchange.drain_forever, name="sync-drain", daemon=True)
    thread.start()
    return thread


def _receipt_key(app: Flask) -> signing.Ed25519PrivateKey:
    text = read_secret_file(Path(app.config["SYNC_KEY_FILE"]), "the sync receipt key", KEY_HINT)
    return signing.load_private_key(text)
