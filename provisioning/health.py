"""The health check the systemd timer runs: ask the edge's health endpoint, and restart the
server when it has been up past its grace period yet does not answer (hung, not crashed:
systemd's Restart=on-failure already handles crashes)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from provisioning.errors import ProvisioningError
from provisioning.systemd import systemctl


@dataclass(frozen=True)
class HealthResult:
    healthy: bool
    problem: str | None
    restarted: bool


def probe(url: str, ca_file: str | None, timeout: float) -> str | None:
    """None when the endpoint answers 200 with status ok, else what went wrong."""
    try:
        response = requests.get(url, timeout=timeout, verify=ca_file or True)
    except requests.RequestException as error:
        return f"no answer from {url}: {type(error).__name__}"
    if response.status_code != 200:
        return f"{url} answered HTTP {response.status_code}"
    try:
        status = response.json()["data"]["status"]
    except (ValueError, KeyError, TypeError):
        return f"{url} did not answer like a clinic health endpoint"
    return None if status == "ok" else f"{url} reports status {status!r}"


def check_and_heal(
    url: str, unit: str | None, ca_file: str | None, timeout: float, grace_seconds: int
) -> HealthResult:
    problem = probe(url, ca_file, timeout)
    if problem is None or unit is None:
        return HealthResult(problem is None, problem, False)
    uptime = active_seconds(unit)
    if uptime is None or uptime < grace_seconds:  # stopped, starting, or waiting for a PIN
        return HealthResult(False, problem, False)
    _systemctl("restart", unit)
    return HealthResult(False, problem, True)


def active_seconds(unit: str) -> float | None:
    """How long `unit` has been active, by systemd's monotonic clock; None if not active."""
    output = _systemctl(
        "show", "--property=ActiveState,ActiveEnterTimestampMonotonic", unit
    ).splitlines()
    values = dict(line.split("=", 1) for line in output if "=" in line)
    if values.get("ActiveState") != "active":
        return None
    entered = int(values.get("ActiveEnterTimestampMonotonic") or 0) / 1_000_000
    return time.monotonic() - entered


def _systemctl(*args: str) -> str:
    result = systemctl(*args)
    if result is None:
        raise ProvisioningError("systemctl is not available on this machine")
    if result.returncode != 0:
        raise ProvisioningError(f"systemctl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout
