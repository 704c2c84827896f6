"""The initial-load benchmark still runs end to end at a tiny size, so it cannot rot; its
figures are not asserted against targets here (benchmarks are never timed tests)."""

from __future__ import annotations

import os
import subprocess
import sys

from bench import initial_load
from tests.support import mysql


def test_the_benchmark_loads_a_small_vehicle_and_prints_its_table() -> None:
    done = subprocess.run(  # noqa: S603 - our own benchmark
        [sys.executable, "-m", "bench.initial_load", "--patients", "20", "--per-row-patients", "5"],
        env={**os.environ, "HUB_TEST_DATABASE_URL": mysql.server_url()},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = 2 * 20 + initial_load.ITEMS + initial_load.TARIFFS + 1  # patients, visits, vehicle
    lines = done.stdout.splitlines()
    bulk = next(line for line in lines if line.startswith("bulk snapshot + sync"))
    assert f"{rows:,}" in bulk, "every row of the vehicle's starting data arrived"
    assert any(line.startswith("(a) floor") and f"{rows:,}" in line for line in lines)
    small = 2 * 5 + initial_load.ITEMS + initial_load.TARIFFS + 1
    for mode in ("bulk", "per-row"):
        line = next(line for line in lines if line.startswith(f"(b) 5 patients, {mode}"))
        assert f"{small:,}" in line, f"the {mode} load brought the same rows"
