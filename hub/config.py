"""Hub configuration from environment variables, with safe defaults for local use.

Every variable is documented in `.env.example`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.config import env_bool, env_int, read_secret_file


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    data_dir = Path(environ.get("HUB_DATA_DIR", "var/hub")).resolve()
    secrets_dir = Path(environ.get("HUB_SECRETS_DIR", "var/secrets/hub")).resolve()
    return {
        "NODE_KIND": "hub",
        "API_TITLE": "Mobile Clinic Hub API",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": environ.get("HUB_DATABASE_URL", f"sqlite:///{data_dir / 'hub.db'}"),
        "SECRET_KEY": environ.get("HUB_SECRET_KEY"),
        "SECRET_KEY_FILE": environ.get("HUB_SECRET_KEY_FILE", str(secrets_dir / "secret.key")),
        "SECRETS_DIR": str(secrets_dir),
        # The audit key (common.auditseal); `audit.key` in SECRETS_DIR when not set.
        "AUDIT_KEY_FILE": environ.get("HUB_AUDIT_KEY_FILE"),
        "SYNC_KEY_FILE": environ.get("HUB_SYNC_KEY_FILE", str(secrets_dir / "sync-receipt.key")),
        "MAX_CONTENT_LENGTH": env_int(environ, "HUB_MAX_REQUEST_BYTES", 32 * 1024 * 1024),
        "IDLE_TIMEOUT_MINUTES": env_int(environ, "HUB_IDLE_TIMEOUT_MINUTES", 30),
        "LOCKOUT_THRESHOLD": env_int(environ, "HUB_LOCKOUT_THRESHOLD", 5),
        "LOCKOUT_MINUTES": env_int(environ, "HUB_LOCKOUT_MINUTES", 15),
        "LOGIN_RATE_LIMIT": environ.get("HUB_LOGIN_RATE_LIMIT", "20 per minute"),
        "RATELIMIT_STORAGE_URI": environ.get("HUB_RATELIMIT_STORAGE_URI", "memory://"),
        "PROXY_COUNT": env_int(environ, "HUB_PROXY_COUNT", 0, minimum=0),
        "SESSION_MAX_HOURS": env_int(environ, "HUB_SESSION_MAX_HOURS", 12),
        "COOKIE_SECURE": env_bool(environ, "HUB_COOKIE_SECURE", True),
        "SYNC_AMBER_HOURS": env_int(environ, "HUB_SYNC_AMBER_HOURS", 24),
        "SYNC_RED_HOURS": env_int(environ, "HUB_SYNC_RED_HOURS", 72),
        "SYNC_APPLY_SLOTS": env_int(environ, "HUB_SYNC_APPLY_SLOTS", 1, minimum=0),
        "SYNC_MAX_AHEAD_HOURS": env_int(environ, "HUB_SYNC_MAX_AHEAD_HOURS", 24, minimum=1),
        "PALMED_API_URL": environ.get("PALMED_API_URL", "http://127.0.0.1:5200"),
        "PALMED_API_KEY": environ.get("PALMED_API_KEY", ""),
        "PALMED_READ_TIMEOUT_SECONDS": env_int(environ, "PALMED_READ_TIMEOUT_SECONDS", 20),
    }


def secret_key(config: Mapping[str, Any]) -> str:
    return config.get("SECRET_KEY") or read_secret_file(
        Path(config["SECRET_KEY_FILE"]), "the signing secret", "run `clinic-hub migrate` first"
    )
