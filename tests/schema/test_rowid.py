"""Row ids are UUIDv7, unique across threads, forks and processes, increasing within a
process whatever its clock does, and cheap on the wire: what the sync's bytes rest on."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
import uuid

import pytest
import zstandard

from schema import rowid
from schema.base import new_id


def tag(row_id: str) -> int:
    return uuid.UUID(row_id).int & ((1 << 62) - 1)


def test_ids_are_uuid7_unique_and_increasing() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # their text sorts as they were made (B-tree friendly)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_a_burst_within_one_millisecond_or_a_clock_set_back_still_increases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = rowid.RowIds()
    now = [1_800_000_000_000 * 1_000_000]
    monkeypatch.setattr(rowid.time, "time_ns", lambda: now[0])
    burst = [ids.new() for _ in range(5_000)]  # more than the counter holds in 1 ms
    now[0] -= 60_000 * 1_000_000  # the clock is set back a minute
    after = [ids.new() for _ in range(10)]
    made = burst + after
    assert made == sorted(made) and len(set(made)) == len(made)
    millis = {uuid.UUID(i).int >> 80 for i in made}
    assert millis == {1_800_000_000_000, 1_800_000_000_001}


def test_threads_making_ids_at_once_never_collide() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def work(out: list[str]) -> None:
        out.extend(new_id() for _ in range(5_000))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in made for i in out]
    assert len(set(every)) == len(every)


def _child_ids(queue: multiprocessing.Queue[list[str]]) -> None:
    queue.put([new_id() for _ in range(1_000)])


def test_a_forked_child_and_another_process_have_their_own_tags() -> None:
    mine = [new_id() for _ in range(1_000)]
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[list[str]] = context.Queue()
    child = context.Process(target=_child_ids, args=(queue,))
    child.start()
    forked = queue.get(timeout=30)
    child.join(timeout=30)
    script = "from schema.base import new_id; print(*(new_id() for _ in range(1000)))"
    other = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    tags = {tag(mine[0]), tag(forked[0]), tag(other[0])}
    assert len(tags) == 3
    assert len(set(mine + forked + other)) == 3_000


def test_a_processs_ids_compress_to_a_few_bytes_each() -> None:
    """Random UUIDv7 ids cost 10+ bytes each compressed; these share their tag."""
    ids = [new_id() for _ in range(2_000)]
    packed = zstandard.ZstdCompressor(level=9).compress(json.dumps(ids).encode())
    assert len(packed) / len(ids) < 4, len(packed) / len(ids)
    randomish = [str(uuid.uuid4()) for _ in range(2_000)]
    packed_random = zstandard.ZstdCompressor(level=9).compress(json.dumps(randomish).encode())
    assert len(packed_random) / len(randomish) > 10
