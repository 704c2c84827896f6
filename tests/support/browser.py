"""Headless Chromium (Debian's package) driven by Playwright, with no network beyond loopback."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "Chromium is not installed: browser tests need Debian's `chromium` package "
            "(apt-get install chromium; .ci/run installs it)",
            pytrace=False,
        )
    return path
