"""The hub's sync engine for this app: the `sync.hub.HubExchange` over the app's
database, signing receipts with the hub's key. Served by `clinic-hub serve`, it applies
`SYNC_APPLY_SLOTS` batches at once inline and stores the rest for its drain thread."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Connection

import schema
from common.config import read_secret_file, write_secret_file
from common.database import db
from sync import signing
from sync.change import Change
from sync.hub import ApplySlots, HubExchange
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
            on_applied=applied,
            slots=ApplySlots(app.config["SYNC_APPLY_SLOTS"]) if draining else None,
            max_ahead_ms=app.config.get("SYNC_MAX_AHEAD_HOURS", 24) * HOUR_MS,
        )
        app.extensions["clinic.sync"] = exchange
    return exchange


def applied(connection: Connection, changes: Sequence[Change]) -> None:
    """What head office does as a device's batch is applied, in its transaction."""
    from hub.sync import deactivation, duplicate, emergency

    duplicate.detect(connection, changes)
    emergency.notice(connection, changes)
    deactivation.notice(connection, changes)


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
