"""Invariant 7: random work on several edges and the hub, synced in random orders through
a link that drops requests, loses replies and delivers twice, on laptops whose clocks are
hours wrong, ends with every replica holding the same rows and no append-only row lost or
doubled. Hub on MySQL, edges on SQLCipher. `SYNC_CONVERGENCE_EXAMPLES` sets the soak.
(tests/resilience/test_sync_machine.py drives the same world as a state machine.)"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.convergence import FIELDS, HOUR_MS, assert_converged, build, run, settle
from tests.support.sync import Net

EXAMPLES = int(os.environ.get("SYNC_CONVERGENCE_EXAMPLES", "10"))
EDGES = ("A", "B")
SKEWS = {"A": -3 * HOUR_MS, "B": 3 * HOUR_MS}  # one laptop 3 h behind, one 3 h ahead

node = st.sampled_from(("hub", *EDGES))
edge_name = st.sampled_from(EDGES)
operation = st.one_of(
    st.tuples(st.just("register"), edge_name),
    st.tuples(st.just("edit"), node, st.sampled_from(sorted(FIELDS)), st.integers(0, 3)),
    st.tuples(st.just("vital"), edge_name),
    st.tuples(st.just("book"), edge_name),  # the hub books a known patient on a vehicle
    st.tuples(
        st.just("sync"),
        edge_name,
        st.sampled_from([None, None, "drop_request", "drop_reply", "duplicate"]),
    ),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(script=st.lists(operation, min_size=5, max_size=30), seed=st.integers(0, 2**32))
def test_replicas_converge(sync_net: Callable[[], Net], hub_engine, script, seed) -> None:  # noqa: ANN001
    world = build(sync_net, hub_engine, SKEWS)
    rng = random.Random(seed)
    for op in script:
        run(world, op, rng)
    settle(world)
    assert_converged(world)
