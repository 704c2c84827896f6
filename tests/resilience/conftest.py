"""The resilience suites run a modest volume in CI; `pytest --runs N` multiplies it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def runs(pytestconfig: pytest.Config) -> int:
    """How many times the CI volume to run (at least 1)."""
    return max(1, int(pytestconfig.getoption("runs")))
