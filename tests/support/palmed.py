"""The PALMED sandbox as a real process (`palmed-sandbox serve`) on a free loopback port,
for every test that talks to it: the sandbox's own tests and the hub's claim pipeline.

    def test_something(palmed_sandbox: Sandbox) -> None:       # demo roster, no faults
        client = palmed_sandbox.client()
        palmed_sandbox.set_faults({"kind": "drop", "when": "after", "times": 1})

Build a `Sandbox` yourself for another roster or start-up options; `restart()` keeps the
database file, as a real restart would.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from hub.claims.palmed import ClaimLineRequest, ClaimRequest, PalmedClient

API_KEY = "test-palmed-api-key-0001"
ADMIN_KEY = "test-palmed-admin-key-0001"
PRACTICE_NUMBER = "0123456"
START_SECONDS = 30.0
_LISTENING = re.compile(r"PALMED sandbox on (http://\S+)")


@dataclass
class Sandbox:
    """One sandbox database file and the server process currently serving it. Empty
    keys let the sandbox generate its own (read back from its output)."""

    database: Path
    log: Path
    args: tuple[str, ...] = ("--demo",)
    api_key: str = API_KEY
    admin_key: str = ADMIN_KEY
    environment: dict[str, str] = field(default_factory=dict)  # e.g. the sandbox's TZ
    url: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *extra: str) -> None:
        """Start serving (with `args` and `extra` options) and wait until /health answers."""
        command = [
            str(Path(sys.executable).with_name("palmed-sandbox")),
            "serve",
            "--db",
            str(self.database),
            "--port",
            "0",
            *self.args,
            *extra,
        ]
        environment = {
            **os.environ,
            "PALMED_API_KEY": self.api_key,
            "PALMED_ADMIN_KEY": self.admin_key,
            "PYTHONUNBUFFERED": "1",
            **self.environment,
        }
        self.log.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        self.url = self._wait_for_url(offset)
        self._wait_for_health()
        self._adopt_generated_keys(offset)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the process: SIGTERM, or SIGKILL to show committed work survives anything."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()

    def client(self, **timeouts: float) -> PalmedClient:
        """The hub's client for this sandbox (`connect_timeout=`, `read_timeout=`)."""
        return PalmedClient(self.url, self.api_key, **timeouts)

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> Any:
        """A raw call (`path` from the root, e.g. /v1/claims) with the scheme API key,
        or with `key` (empty for none)."""
        headers = {"X-API-Key": self.api_key if key is None else key, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call a sandbox-control endpoint and return its data; fail the test if it fails."""
        response = self.request(method, f"/admin{path}", key=self.admin_key, json=body)
        assert response.ok, f"{method} /admin{path}: {response.status_code} {response.text}"
        return response.json()["data"]

    def claims(self) -> list[dict[str, Any]]:
        """Every claim the sandbox holds (what 'exactly once' is checked against)."""
        body = self.request("GET", "/admin/claims?per_page=500", key=self.admin_key).json()
        assert body["pagination"]["total"] == len(body["data"]), "more claims than one page"
        claims: list[dict[str, Any]] = body["data"]
        return claims

    def set_faults(self, *rules: dict[str, Any], seed: int | None = None) -> dict[str, Any]:
        plan: dict[str, Any] = self.admin("PUT", "/faults", {"seed": seed, "rules": list(rules)})
        return plan

    def _wait_for_url(self, offset: int) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log.read_bytes()[offset:].decode(errors="replace"))
            if found:
                return found.group(1)
            if self.process is None or self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop(kill=True)
        pytest.fail(f"the PALMED sandbox did not start:\n{self.log.read_text()}", pytrace=False)

    def _adopt_generated_keys(self, offset: int) -> None:
        """With no keys given (empty), the sandbox makes its own and prints them."""
        printed = self.log.read_bytes()[offset:].decode(errors="replace")
        for what, attribute in (("API key", "api_key"), ("admin key", "admin_key")):
            found = re.search(rf"Generated {what} \(set \w+ to choose one\): (\S+)", printed)
            if found:
                setattr(self, attribute, found.group(1))

    def _wait_for_health(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=5).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop(kill=True)
        pytest.fail(f"the PALMED sandbox never became healthy:\n{self.log.read_text()}")


@pytest.fixture
def palmed_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox with the shipped demo roster, its own file, no faults."""
    sandbox = Sandbox(tmp_path / "palmed" / "sandbox.db", tmp_path / "palmed" / "sandbox.log")
    sandbox.start()
    yield sandbox
    sandbox.stop()


def claim_request(
    member_number: str = "110234561",
    dependant_code: str = "00",
    *,
    service_date: dt.date | None = None,
    icd10_codes: tuple[str, ...] = ("J06.9",),
    lines: tuple[ClaimLineRequest, ...] | None = None,
    reference: str | None = None,
) -> ClaimRequest:
    """A claim the sandbox accepts (for an active demo member, seen yesterday)."""
    return ClaimRequest(
        member_number=member_number,
        dependant_code=dependant_code,
        practice_number=PRACTICE_NUMBER,
        service_date=service_date or dt.date.today() - dt.timedelta(days=1),
        icd10_codes=icd10_codes,
        lines=lines
        or (
            ClaimLineRequest("tariff", "0190", 1, Decimal("520.00")),
            ClaimLineRequest("nappi", "7010017", 20, Decimal("7.00")),
        ),
        reference=reference,
    )
