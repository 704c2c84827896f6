"""The sync wire benchmark still runs end to end at a tiny size, so it cannot rot; its
figures are not asserted against targets here (benchmarks are never timed tests)."""

from __future__ import annotations

from bench import sync_wire
from tests.support import mysql


def test_the_benchmark_syncs_a_small_day_and_prints_its_table() -> None:
    figures = sync_wire.measure(3, mysql.server_url())

    assert figures.hub_visits == 3  # the day really reached the hub
    assert figures.rows > 3 * 20  # every kind of row of a visit was generated
    assert figures.sync.requests >= 1 and figures.sync.total > 0
    assert figures.naive.requests == figures.rows  # one request per row
    assert figures.floor.requests == 1
    assert figures.idle.requests >= 1
    # the real peer runs when `npm ci` was run in bench/peer; otherwise the table says so
    assert isinstance(figures.peer, str) or figures.peer[0].requests > 1
    printed = sync_wire.table(figures)
    contenders = ("sync edge -> hub", "(a) naive", "(b) floor", "(c) sync with", "(d) PouchDB")
    for contender in contenders:
        assert contender in printed
