"""Group commit: what arrives while a batch is being written goes, in arrival order, into
the next batch; nobody returns before their batch is written; a failed batch fails every
one of its callers and nobody else. What waits while a writer holds the write gate rides
on that writer's commit, or goes back to wait if the writer rolls back."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from common.groupcommit import GroupCommit
from sync.txn import WriteGate

WAIT = 30  # seconds: only ever reached if the code under test hangs


class Writes:
    """A batch writer that holds the first batch until released, as a slow commit would."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail_on = fail_on

    def __call__(self, batch: list[str]) -> None:
        self.batches.append(batch)
        if len(self.batches) == 1:
            self.started.set()
            assert self.release.wait(WAIT)
        if self.fail_on in batch:
            raise OSError("disk full")


def submit_in_thread(
    group: GroupCommit[str],
    item: str,
    write: Writes,
    outcome: dict[str, str],
    gate: WriteGate | None = None,
) -> threading.Thread:
    def run() -> None:
        try:
            group.submit(item, write, gate.turn if gate is not None else None)
        except OSError as error:
            outcome[item] = f"failed: {error}"
        else:
            outcome[item] = "committed"

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until_queued(group: GroupCommit[Any], count: int) -> None:
    """Until `count` items wait to be written (queueing notifies nobody, so this looks
    every millisecond)."""
    deadline = time.monotonic() + WAIT
    while len(group._waiting) != count:
        assert time.monotonic() < deadline, f"{len(group._waiting)} waiting, not {count}"
        time.sleep(0.001)


def test_items_arriving_during_a_commit_share_the_next_one_in_arrival_order() -> None:
    group: GroupCommit[str] = GroupCommit()
    write, outcome = Writes(), {}
    first = submit_in_thread(group, "a", write, outcome)
    assert write.started.wait(WAIT)
    later = []
    for n, item in enumerate(("b", "c", "d"), start=1):
        later.append(submit_in_thread(group, item, write, outcome))
        wait_until_queued(group, n)  # arrival order is known
    assert outcome == {}, "nobody may return before their batch is written"
    write.release.set()
    for thread in (first, *later):
        thread.join(WAIT)
    assert write.batches == [["a"], ["b", "c", "d"]]
    assert outcome == dict.fromkeys("abcd", "committed")


def test_a_failed_batch_fails_each_of_its_callers_and_no_one_else() -> None:
    group: GroupCommit[str] = GroupCommit()
    write, outcome = Writes(fail_on="c"), {}
    first = submit_in_thread(group, "a", write, outcome)
    assert write.started.wait(WAIT)
    later = []
    for n, item in enumerate(("b", "c"), start=1):
        later.append(submit_in_thread(group, item, write, outcome))
        wait_until_queued(group, n)
    write.release.set()
    for thread in (first, *later):
        thread.join(WAIT)
    assert outcome["a"] == "committed"
    assert outcome["b"] == outcome["c"] == "failed: disk full"
    group.submit("e", write)  # the group goes on after a failure
    assert write.batches[-1] == ["e"]


def test_the_leader_hears_of_its_own_failure() -> None:
    group: GroupCommit[str] = GroupCommit()

    def fail(batch: list[str]) -> None:
        raise OSError("I/O error")

    with pytest.raises(OSError, match="I/O error"):
        group.submit("a", fail)


def writer_lends_what_waits(
    *items: str, committed: bool
) -> tuple[Writes, dict[str, str], list[str]]:
    """A writer holds the gate while `items` queue (the first leads, waiting for the
    gate), takes them into its transaction and ends it; `later` arrives after the loan."""
    gate, group = WriteGate(timeout=WAIT), GroupCommit[str]()
    write, outcome = Writes(), {}
    write.release.set()
    writer = object()  # the writer's connection
    gate.enter(writer)
    threads = []
    for n, item in enumerate(items, start=1):
        threads.append(submit_in_thread(group, item, write, outcome, gate))
        wait_until_queued(group, n)
    loan = group.lend()
    assert loan is not None
    gate.on_end(loan.settle)
    threads.append(submit_in_thread(group, "later", write, outcome, gate))
    wait_until_queued(group, 1)
    assert outcome == {}, "nobody may return before the writer's transaction ends"
    gate.leave(writer, committed=committed)
    for thread in threads:
        thread.join(WAIT)
    return write, outcome, loan.items


def test_a_writer_commits_what_waits_and_the_leader_writes_only_what_came_after() -> None:
    write, outcome, lent = writer_lends_what_waits("a", "b", committed=True)
    assert lent == ["a", "b"]
    assert write.batches == [["later"]]
    assert outcome == dict.fromkeys(("a", "b", "later"), "committed")


def test_what_a_writer_took_and_rolled_back_is_written_next_in_arrival_order() -> None:
    write, outcome, lent = writer_lends_what_waits("a", "b", committed=False)
    assert lent == ["a", "b"]
    assert write.batches == [["a", "b", "later"]]
    assert outcome == dict.fromkeys(("a", "b", "later"), "committed")


def test_nothing_is_lent_when_nothing_waits() -> None:
    assert GroupCommit[str]().lend() is None
