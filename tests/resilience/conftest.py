"""The resilience suites run a modest volume in CI; `pytest --runs N` multiplies it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def runs(pytestconfig: pytest.Config) -> int:
    """How many times the CI volume to run (at least 1)."""
    return max(1, int(pytestconfig.getoption("runs")))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A soak's tests may take `--runs` times as long as the suite's usual limit."""
    times = max(1, int(config.getoption("runs")))
    limit = int(config.getini("timeout") or 300)
    for item in items:
        if "runs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(limit * times))
