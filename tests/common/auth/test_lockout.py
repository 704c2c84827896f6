"""The lockout's decisions: how long an address waits, and which addresses are one."""

from __future__ import annotations

import datetime as dt

import pytest

from common.auth.lockout import FORGET_AFTER, MAX_LOCK, Lockout, address_key, forgotten

NOW = dt.datetime(2027, 1, 5, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (1, None),
        (4, None),
        (5, dt.timedelta(minutes=15)),
        (6, dt.timedelta(minutes=30)),
        (7, dt.timedelta(hours=1)),
        (11, dt.timedelta(hours=16)),
        (12, MAX_LOCK),
        (10_000, MAX_LOCK),
    ],
)
def test_the_wait_doubles_from_the_threshold_up_to_a_day(
    failures: int, wait: dt.timedelta | None
) -> None:
    until = Lockout(threshold=5, minutes=15).until(failures, NOW)
    assert until == (NOW + wait if wait is not None else None)


@pytest.mark.parametrize(
    ("address", "counted_as"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        (None, "unknown"),
        ("", "unknown"),
        ("not an address", "unknown"),
    ],
)
def test_addresses_are_counted_by_client(address: str | None, counted_as: str) -> None:
    assert address_key(address) == counted_as


def test_a_count_is_forgotten_a_day_after_its_last_failure_and_wait() -> None:
    failed = NOW - FORGET_AFTER
    assert forgotten(None, None, NOW)
    assert forgotten(failed, None, NOW)
    assert not forgotten(failed + dt.timedelta(seconds=1), None, NOW)
    assert not forgotten(failed, NOW - dt.timedelta(hours=1), NOW)  # its wait ended an hour ago
