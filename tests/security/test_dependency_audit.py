"""The dependency audit never passes for a clean bill when it could not look: with the
vulnerability database unreachable (nothing listening, or a mirror answering without
vulnerability data) it says "not run", and fails when an audit is required."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.meter import serving

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_dependencies.py"
NOT_RUN = "pip-audit: not run (vulnerability database unreachable)\n"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def audit(probe: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "AUDIT_REQUIRED"}
    environment.update(PIP_AUDIT_PROBE_URL=probe, **env)
    return subprocess.run(
        [sys.executable, str(SCRIPT)], env=environment, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "probe",
    [
        "http://127.0.0.1:{port}/pypi/Flask/3.1.3/json",  # nothing listening
        "file:///etc/hostname",  # not the database at all
    ],
)
def test_an_unreachable_database_is_reported_as_not_run(probe: str) -> None:
    result = audit(probe.format(port=closed_port()))
    assert result.stdout == NOT_RUN
    assert "No known vulnerabilities" not in result.stdout + result.stderr
    assert result.returncode == 0


def mirror_without_vulnerability_data(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"info": {"name": "Flask"}}']


def test_a_mirror_without_vulnerability_data_is_not_the_database() -> None:
    with serving(mirror_without_vulnerability_data) as base:
        result = audit(base + "/pypi/Flask/3.1.3/json")
    assert result.stdout == NOT_RUN and result.returncode == 0


def test_an_unreachable_database_fails_when_the_audit_is_required() -> None:
    result = audit(f"http://127.0.0.1:{closed_port()}/x", AUDIT_REQUIRED="1")
    assert result.stdout == NOT_RUN and result.returncode == 1
