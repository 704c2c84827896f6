"""Group commit: what arrives while a batch is being written goes, in arrival order, into
the next batch; nobody returns before their batch is written; a failed batch fails every
one of its callers and nobody else."""

from __future__ import annotations

import threading

import pytest

from common.groupcommit import GroupCommit

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
    group: GroupCommit[str], item: str, write: Writes, outcome: dict[str, str]
) -> threading.Thread:
    def run() -> None:
        try:
            group.submit(item, write)
        except OSError as error:
            outcome[item] = f"failed: {error}"
        else:
            outcome[item] = "committed"

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def wait_until_queued(group: GroupCommit[str], count: int) -> None:
    """Until `count` items wait behind the batch being written (no sleeping on a clock)."""
    with group._changed:
        assert group._changed.wait_for(lambda: len(group._waiting) == count, WAIT)


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
