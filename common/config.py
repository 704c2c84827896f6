"""Configuration from the environment, and secrets kept in owner-only files."""

from __future__ import annotations

import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from common.files import SECRET_MODE, write_atomic


class ConfigError(RuntimeError):
    """Configuration is missing or unsafe; the message says how to fix it."""


def env_int(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int | None = None
) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def read_secret_file(path: Path, what: str, hint: str) -> str:
    """Read a secret, refusing one that other users could read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{what} not found at {path}; {hint}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{what} at {path} is readable by others; run: chmod 600 {path}")
    return path.read_text().strip()


def write_secret_file(path: Path, value: str) -> None:
    """Write a secret readable only by its owner, atomically (temp file, then rename)."""
    write_atomic(path, (value + "\n").encode(), SECRET_MODE)


def ensure_secret_file(path: Path, nbytes: int = 32) -> bool:
    """Create a random hex secret at `path` unless one exists; True when created."""
    if path.exists():
        return False
    write_secret_file(path, secrets.token_hex(nbytes))
    return True
