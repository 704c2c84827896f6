"""The hub ingest benchmark still runs end to end at a tiny size, so it cannot rot; its
figures are not asserted against targets here (benchmarks are never timed tests)."""

from __future__ import annotations

import pytest

from bench import hub_ingest
from tests.support import mysql


@pytest.mark.parametrize("slots", [0, 99], ids=["stored", "inline"])
def test_the_benchmark_pushes_a_small_fleet_and_checks_exactly_once(slots: int) -> None:
    figures = hub_ingest.measure(
        mysql.server_url(), vehicles=2, visits=1, processes=1, threads=2, slots=slots
    )

    assert figures.changes > 0 and figures.rows > 2 * 20
    assert figures.errors == 0
    assert figures.missing_rows == figures.extra_rows == figures.applied_twice == 0
    assert len(figures.latencies) >= 2  # at least one push exchange per vehicle
    assert len(figures.hub_latencies) == len(figures.latencies)  # each reply said its time
    assert all(
        0 < hub <= round_trip
        for hub, round_trip in zip(
            sorted(figures.hub_latencies), sorted(figures.latencies), strict=True
        )
    )
    assert figures.floor_seconds > 0
    assert len(figures.at_head_office) == 2 and figures.seconds >= max(figures.at_head_office)
    printed = hub_ingest.table(figures)
    assert "floor: same rows, plain executemany" in printed and "exactly once: yes" in printed
    assert "the hub's own time to answer" in printed
