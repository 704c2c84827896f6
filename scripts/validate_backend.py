#!/usr/bin/env python3
"""Health checks against a running edge or hub: prints a table, exits 1 when anything fails.

    python scripts/validate_backend.py https://clinic.local --ca-file vehicle-ca.crt
    CLINIC_API_TOKEN=... python scripts/validate_backend.py http://127.0.0.1:5100 --detailed

--detailed also reads /api/health/detailed with the bearer token in $CLINIC_API_TOKEN
(the token is never printed). --wait retries until healthy, for use right after a restart.
"""

from __future__ import annotations

import os
import time

import click
import requests

from provisioning.health import probe

Row = tuple[str, bool, str]


def _detailed(base: str, token: str | None, verify: str | bool, timeout: float) -> list[Row]:
    if not token:
        return [("detailed", False, "no token in CLINIC_API_TOKEN")]
    try:
        response = requests.get(
            f"{base}/api/health/detailed",
            headers={"Authorization": f"Bearer {token}"},
            verify=verify,
            timeout=timeout,
        )
        checks = response.json()["data"]["checks"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return [("detailed", False, "no usable answer from /api/health/detailed")]
    return [(name, bool(check.get("ok")), _summary(check)) for name, check in checks.items()]


def _summary(check: dict[str, object]) -> str:
    return ", ".join(f"{key}={value}" for key, value in check.items() if key != "ok")


def _rows(base: str, detailed: bool, ca_file: str | None, timeout: float) -> list[Row]:
    problem = probe(f"{base}/api/health", ca_file, timeout)
    rows: list[Row] = [("health", problem is None, problem or "answers ok")]
    if detailed and problem is None:
        token = os.environ.get("CLINIC_API_TOKEN")
        rows += _detailed(base, token, ca_file or True, timeout)
    return rows


@click.command(help="Check a running edge or hub at URL; exit 1 when anything fails.")
@click.argument("url")
@click.option("--detailed", is_flag=True, help="Also read /api/health/detailed (needs a token).")
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False), help="CA to verify HTTPS with."
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per request.")
@click.option(
    "--wait", default=0, show_default=True, help="Retry for up to this many seconds until healthy."
)
def main(url: str, detailed: bool, ca_file: str | None, timeout: float, wait: int) -> None:
    base = url.rstrip("/")
    deadline = time.monotonic() + wait
    rows = _rows(base, detailed, ca_file, timeout)
    while not all(ok for _, ok, _ in rows) and time.monotonic() < deadline:
        time.sleep(1)
        rows = _rows(base, detailed, ca_file, timeout)
    click.echo(f"{'check':<12} {'result':<6} detail")
    for name, ok, detail in rows:
        click.echo(f"{name:<12} {'ok' if ok else 'FAIL':<6} {detail}")
    if not all(ok for _, ok, _ in rows):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
