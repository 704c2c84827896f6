"""The hub's sync engine for this app: the `sync.hub.HubExchange` over the app's
database, signing receipts with the hub's key."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app

import schema
from common.config import read_secret_file, write_secret_file
from common.database import db
from sync import signing
from sync.hub import HubExchange

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
        from hub.sync.duplicate import detect

        exchange = HubExchange(
            db.engine, schema.synced_tables(), _receipt_key(app), on_applied=detect
        )
        app.extensions["clinic.sync"] = exchange
    return exchange


def _receipt_key(app: Flask) -> signing.Ed25519PrivateKey:
    text = read_secret_file(Path(app.config["SYNC_KEY_FILE"]), "the sync receipt key", KEY_HINT)
    return signing.load_private_key(text)
