"""A real `clinic-hub serve` process on the test MySQL database, for tests that cross
the process boundary (kill it, restart it, talk to it over HTTP)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HubProcess:
    def __init__(self, url: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "HUB_DATABASE_URL": url,
            "HUB_DATA_DIR": str(tmp_path / "hub"),
            "HUB_SECRETS_DIR": str(tmp_path / "hub-secrets"),
        }
        self.bin = Path(sys.executable).parent
        subprocess.run(  # noqa: S603 - our own command: makes the key files
            [str(self.bin / "clinic-hub"), "migrate"],
            env=self.env,
            check=True,
            capture_output=True,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own command
            [str(self.bin / "clinic-hub"), "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/api/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError("the hub process did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
