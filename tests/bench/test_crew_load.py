"""The crew load benchmark still runs end to end at a tiny size, so it cannot rot; its
figures (and its error counts: see docs/BENCHMARKS.md) are not asserted here."""

from __future__ import annotations

from bench import crew_load
from tests.support import mysql


def test_the_benchmark_runs_crew_browsers_over_both_databases_and_a_sync() -> None:
    figures = crew_load.measure(
        mysql.server_url(), browsers=1, seconds=2, sync_patients=20, think=0.01, rounds=2, syncs=2
    )

    for run in (figures.cipher, figures.plain, figures.syncing):
        assert run.reads and run.writes  # the logged-in browsers really worked
        assert run.served is not None  # and the server timed the same requests itself
        assert (len(run.served.reads), len(run.served.writes)) == (len(run.reads), len(run.writes))
    # both syncs ran to their end, each bringing its own 20 patients and their visits
    assert figures.syncing.synced.count("40 received") == 2
    printed = crew_load.table(figures)
    lines = ("SQLCipher (raw key)", "plain SQLite", "while a sync applies", "overhead", "10 ms")
    lines += ("inside the edge server",)
    for line in lines:
        assert line in printed
