"""A sandbox of PALMED, the POLMED scheme's membership and claims system: its own small
HTTP service, so the hub's claim pipeline runs and is tested against a real server."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from typing import Any

from flask import Flask

from common.api import ok
from common.errors import error_response, register_error_handlers
from common.version import VERSION

MAX_REQUEST_BYTES = 1024 * 1024
log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any]) -> Flask:
    """Build the sandbox over an initialised database file (see `store.initialise`).
    Needs DATABASE, API_KEY and ADMIN_KEY; FAULTS optionally. No side effects."""
    from palmed import admin, api, catalogue
    from palmed.fault import FaultInjector, FaultPlan
    from palmed.state import State, close_db, db

    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES, **config)
    faults = FaultPlan()
    initial = app.config.get("FAULTS") or {}
    faults.replace(initial.get("rules", []), initial.get("seed"))
    app.extensions["palmed"] = State(str(app.config["DATABASE"]), catalogue.load(), faults)
    app.wsgi_app = FaultInjector(app.wsgi_app, faults)  # type: ignore[method-assign]
    register_error_handlers(app, pages=False)
    app.register_error_handler(sqlite3.OperationalError, _database_busy)
    app.teardown_appcontext(close_db)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)

    @app.get("/health")
    def health() -> Any:
        """Liveness for orchestration and test fixtures: the process and its file answer."""
        db().execute("SELECT 1")
        return ok({"status": "ok", "service": "palmed-sandbox", "version": VERSION})

    return app


def _database_busy(error: sqlite3.OperationalError) -> Any:
    log.error("sandbox database error: %s", error)
    return error_response(503, "The sandbox database is busy; nothing was saved")
