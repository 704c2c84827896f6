"""Edge configuration from environment variables, with safe defaults for local use.

Every variable is documented in `.env.example`.
"""

from __future__ import annotations

import getpass
import shutil
import subprocess  # nosec B404 - fixed system commands only, never a shell
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from common.config import ConfigError, env_bool, env_int, read_secret_file
from common.database import parse_key
from provisioning.errors import KeyFileError
from provisioning.key import KeyStore, open_key

INIT_HINT = "run `clinic-edge init` first"
UNLOCK_CREDENTIAL = "unlock-secret"
UNLOCK_PROMPT_TEXT = "Unlock secret (PIN) for the clinic database: "


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    data_dir = Path(environ.get("EDGE_DATA_DIR", "var/edge")).resolve()
    secrets_dir = Path(environ.get("EDGE_SECRETS_DIR", "var/secrets/edge")).resolve()
    return {
        "NODE_KIND": "edge",
        "API_TITLE": "Mobile Clinic Edge API",
        "DATA_DIR": str(data_dir),
        "DATABASE_PATH": environ.get("EDGE_DATABASE_PATH", str(data_dir / "edge.db")),
        "DB_KEY": environ.get("EDGE_DB_KEY"),
        "DB_KEY_FILE": environ.get("EDGE_DB_KEY_FILE", str(secrets_dir / "db.key")),
        "WRAPPED_KEY_FILE": environ.get(
            "EDGE_WRAPPED_KEY_FILE", str(secrets_dir / "db.key.wrapped")
        ),
        "UNLOCK_SECRET": environ.get("EDGE_UNLOCK_SECRET"),
        "UNLOCK_SECRET_FILE": environ.get("EDGE_UNLOCK_SECRET_FILE")
        or _credential(environ, UNLOCK_CREDENTIAL),
        "UNLOCK_PROMPT": environ.get("EDGE_UNLOCK_PROMPT", "tty"),
        "SECRET_KEY": environ.get("EDGE_SECRET_KEY"),
        "SECRET_KEY_FILE": environ.get("EDGE_SECRET_KEY_FILE", str(secrets_dir / "secret.key")),
        "SECRETS_DIR": str(secrets_dir),
        # The audit key (common.auditseal); `audit.key` in SECRETS_DIR when not set.
        "AUDIT_KEY_FILE": environ.get("EDGE_AUDIT_KEY_FILE"),
        "HUB_URL": environ.get("EDGE_HUB_URL", "http://127.0.0.1:5100"),
        "MAX_CONTENT_LENGTH": env_int(environ, "EDGE_MAX_REQUEST_BYTES", 10 * 1024 * 1024),
        "IDLE_TIMEOUT_MINUTES": env_int(environ, "EDGE_IDLE_TIMEOUT_MINUTES", 30),
        "LOCKOUT_THRESHOLD": env_int(environ, "EDGE_LOCKOUT_THRESHOLD", 5),
        "LOCKOUT_MINUTES": env_int(environ, "EDGE_LOCKOUT_MINUTES", 15),
        "LOGIN_RATE_LIMIT": environ.get("EDGE_LOGIN_RATE_LIMIT", "20 per minute"),
        "RATELIMIT_STORAGE_URI": "memory://",  # one process per vehicle: count in memory
        "SESSION_MAX_HOURS": env_int(environ, "EDGE_SESSION_MAX_HOURS", 12),
        "COOKIE_SECURE": env_bool(environ, "EDGE_COOKIE_SECURE", True),
        "SYNC_INTERVAL_SECONDS": env_int(environ, "EDGE_SYNC_INTERVAL_SECONDS", 60),
        "CLOCK_DRIFT_WARNING_SECONDS": env_int(environ, "EDGE_CLOCK_DRIFT_WARNING_SECONDS", 120),
        "ALERT_ESCALATION_MINUTES": env_int(environ, "EDGE_ALERT_ESCALATION_MINUTES", 30),
        "TIMEZONE": environ.get("EDGE_TIMEZONE", "Africa/Johannesburg"),
    }


def database_key(config: Mapping[str, Any], prompt: Callable[[], str] | None = None) -> bytes:
    """The raw SQLCipher key: EDGE_DB_KEY (development), else the wrapped key file opened
    with the unlock secret, else the plaintext key file that `clinic-edge init` makes."""
    store = KeyStore(Path(config["WRAPPED_KEY_FILE"]))
    if not config.get("DB_KEY") and store.exists():
        try:
            return open_key(store, unlock_secret(config, prompt), Path(config["DATABASE_PATH"]))
        except KeyFileError as error:
            raise ConfigError(f"cannot unlock the database key: {error}") from None
    raw = config.get("DB_KEY") or read_secret_file(
        Path(config["DB_KEY_FILE"]), "the database key", INIT_HINT
    )
    try:
        return parse_key(raw)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def unlock_secret(config: Mapping[str, Any], prompt: Callable[[], str] | None = None) -> str:
    """The secret that unwraps the key: EDGE_UNLOCK_SECRET, a file (a systemd credential for
    unattended boot), or typed in (a PIN at service start)."""
    if config.get("UNLOCK_SECRET"):
        return str(config["UNLOCK_SECRET"])
    if config.get("UNLOCK_SECRET_FILE"):
        return read_secret_file(
            Path(config["UNLOCK_SECRET_FILE"]), "the unlock secret", "see docs/operations.md"
        )
    if prompt is not None:
        secret = prompt()
        if secret:
            return secret
    raise ConfigError(
        "the database key is wrapped and no unlock secret was given: set EDGE_UNLOCK_SECRET "
        "or EDGE_UNLOCK_SECRET_FILE, or start the command in a terminal to type it"
    )


def unlock_prompt(config: Mapping[str, Any]) -> Callable[[], str] | None:
    """How to ask a person for the secret: at the terminal, or through systemd's password
    agent at boot (EDGE_UNLOCK_PROMPT=systemd); None when nobody can be asked."""
    if sys.stdin.isatty():
        return lambda: getpass.getpass(UNLOCK_PROMPT_TEXT)
    if config.get("UNLOCK_PROMPT") == "systemd":
        return _ask_systemd
    return None


def _ask_systemd() -> str:
    """systemd-ask-password shows the prompt on the console at boot; the kernel keyring cache
    lets the scheduler reuse what was typed for the server."""
    command = shutil.which("systemd-ask-password")
    if command is None:
        raise ConfigError("EDGE_UNLOCK_PROMPT=systemd but systemd-ask-password is not installed")
    result = subprocess.run(  # noqa: S603  # nosec B603 - a fixed system command
        [
            command,
            "--id=clinic-edge",
            "--keyname=mobile-clinic-unlock",
            "--accept-cached",
            "--timeout=0",
            UNLOCK_PROMPT_TEXT,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ConfigError("no unlock secret was typed at the systemd password prompt")
    return result.stdout.rstrip("\n")


def _credential(environ: Mapping[str, str], name: str) -> str | None:
    """A systemd credential's path, when the service was started with LoadCredential=."""
    directory = environ.get("CREDENTIALS_DIRECTORY")
    if directory and (Path(directory) / name).exists():
        return str(Path(directory) / name)
    return None


def secret_key(config: Mapping[str, Any]) -> str:
    """The signing secret for sessions and tokens."""
    return config.get("SECRET_KEY") or read_secret_file(
        Path(config["SECRET_KEY_FILE"]), "the signing secret", INIT_HINT
    )
