"""`/api/sync/status` and `/api/sync/now` on the edge."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from common import audit
from common.access import current_actor
from common.api import endpoint, ok
from common.config import ConfigError
from common.database import db
from common.errors import APIError, Conflict
from edge.sync import service
from sync.transport import SyncError

bp = Blueprint("edge_sync", __name__)


@bp.get("/api/sync/status")
@endpoint("sync:read")
def status() -> Any:
    """Pending changes, last success and error, lag, clock offset, quarantine, receipt."""
    return ok(service.status(db.engine, current_app.config))


@bp.post("/api/sync/now")
@endpoint("sync:run")
def sync_now() -> Any:
    """Sync with the hub now (the crew's "sync now" button)."""
    audit.record_apart(db.session, current_actor(), "sync_requested")
    try:
        result = service.run(db.engine, current_app.config)
    except ConfigError as error:
        raise Conflict(str(error)) from None
    except SyncError as error:
        raise APIError(f"Sync failed: {error}", status=502) from None
    data = {"pushed": result.pushed, "pulled": result.pulled, "exchanges": result.exchanges}
    return ok({**data, "status": service.status(db.engine, current_app.config)}, "Synced")
