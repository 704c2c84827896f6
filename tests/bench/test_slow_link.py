"""The slow-link benchmark still runs end to end at a tiny size, so it cannot rot; its
figures are not asserted against targets here (benchmarks are never timed tests)."""

from __future__ import annotations

from bench import slow_link
from tests.support import mysql


def test_the_benchmark_syncs_over_the_shaped_link_and_survives_a_drop() -> None:
    link = slow_link.Link(rate=200_000, rtt=0.05)  # faster than 3G: the shape, not the wait
    clean, dropped = slow_link.measure(2, mysql.server_url(), runs=1, link=link)

    assert [run.hub_visits for run in clean] == [2] and dropped.hub_visits == 2
    run = clean[0]
    assert run.up > 0 and run.down > 0 and run.exchanges >= 1
    assert run.seconds >= run.exchanges * link.rtt  # the link's delay was really added
    assert dropped.dropped == 1 and dropped.attempts == 2  # the drop failed a sync, retried
    printed = slow_link.table(2, link, clean, dropped)
    assert "median of the clean runs" in printed and "one dropped connection" in printed
