"""What else the machine was doing while a benchmark ran, printed under its table.

On this 2-core machine the same code's latencies moved twofold with the other work on
it (docs/BENCHMARKS.md, section 4), so a figure is only comparable to another taken
under a similar load: each benchmark notes its cores and the load average at its start
and end, instead of someone reading `uptime` by hand.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def noted() -> Iterator[None]:
    """Print the machine's cores and load average once the block (the benchmark's run)
    has finished."""
    start = os.getloadavg()[0]
    yield
    print(
        f"machine: {os.cpu_count() or '?'} cores; load average (1 minute) {start:.2f} at "
        f"the start, {os.getloadavg()[0]:.2f} at the end"
    )
