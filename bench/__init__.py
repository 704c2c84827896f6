"""Benchmarks: each module prints figures side by side with its baseline."""

from __future__ import annotations

from common import auditseal
from common.auditseal import SealKey

# Every node a benchmark makes seals its audit trail with this key (nothing is verified,
# and a benchmark's processes share databases).
AUDIT_KEY = SealKey(b"\x42" * 32)


def seal_with_bench_key() -> None:
    """In a benchmark's own process: every database opened without a key of its own seals
    its audit trail with AUDIT_KEY (the tests set their own key instead)."""
    auditseal.use_everywhere(AUDIT_KEY)
