"""Health checks shared by edge and hub: a public liveness probe and a detailed report."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app
from sqlalchemy import func, select, text

from common.api import endpoint, ok
from common.database import db
from common.version import VERSION
from schema import migrate
from schema.models import SyncLink

bp = Blueprint("health", __name__)

LOW_DISK_BYTES = 500 * 1024 * 1024


@bp.get("/api/health")
@endpoint(public=True)
def health() -> Any:
    """Liveness: the process answers."""
    return ok({"status": "ok", "service": current_app.config["NODE_KIND"], "version": VERSION})


@bp.get("/api/health/detailed")
@endpoint("system:read")
def health_detailed() -> Any:
    """Database, migrations, disk and sync: what an operator checks first."""
    checks = {
        "database": _database(),
        "migrations": _migrations(),
        "disk": _disk(Path(current_app.config["DATA_DIR"])),
        "sync": _last_sync(),
    }
    healthy = all(check["ok"] for check in checks.values())
    status = 200 if checks["database"]["ok"] else 503
    data = {"status": "ok" if healthy else "degraded", "version": VERSION, "checks": checks}
    return ok(data, status=status)


def _database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - report any failure as the check's result
        return {"ok": False, "error": type(error).__name__}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _migrations() -> dict[str, Any]:
    try:
        current = migrate.current_revision(db.engine)
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": type(error).__name__}
    head = migrate.head_revision()
    return {"ok": current == head, "current": current, "head": head}


def _disk(path: Path) -> dict[str, Any]:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)  # where the node keeps patient data
    usage = shutil.disk_usage(path)
    return {"ok": usage.free > LOW_DISK_BYTES, "free_bytes": usage.free, "total_bytes": usage.total}


def _last_sync() -> dict[str, Any]:
    last: dt.datetime | None = db.session.scalar(select(func.max(SyncLink.last_success_at)))
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return {"ok": True, "last_success_at": last.isoformat() if last else None}
