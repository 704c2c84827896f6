"""When failed logins lock a client out: decisions over plain facts, no database.

Failures are counted per account *and client address*, so what an address does to an
account holds back that address only: an outsider who knows a username can lock
themselves out, never the account's owner working from their own tablet or desk. After
`threshold` failures in a row the address waits `minutes`, and every further failure
after the wait doubles it (up to `MAX_LOCK`), so guessing from one address slows to a
crawl while the owner is never locked by it. A name that is no account is counted and
held back exactly alike, so the answers never tell which accounts exist.

An IPv6 client is counted by its /64 network: one subscriber is handed a whole /64 and
could otherwise try each password from a new address.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

# The longest an address waits between attempts on one account, however often it fails.
MAX_LOCK = dt.timedelta(hours=24)
# A count left quiet this long after its last failure and its last wait starts again
# from nothing (and its row is dropped).
FORGET_AFTER = dt.timedelta(hours=24)
UNKNOWN_ADDRESS = "unknown"
IPV6_NETWORK = 64


@dataclass(frozen=True)
class Lockout:
    """After `threshold` failures in a row from one address, that address waits
    `minutes` before trying the account again; each further failure doubles the wait."""

    threshold: int
    minutes: int

    def until(self, failures: int, now: dt.datetime) -> dt.datetime | None:
        """When the address may try again after its `failures`th failure in a row; None
        while it is under the threshold."""
        if failures < self.threshold:
            return None
        doublings = min(failures - self.threshold, 32)  # 2**32 minutes is past any cap
        wait = dt.timedelta(minutes=self.minutes) * (2**doublings)
        return now + min(wait, MAX_LOCK)


def address_key(addr: str | None) -> str:
    """The address a client is counted under: IPv4 as it is, IPv6 by its /64 network
    (an IPv4-mapped address as the IPv4 one), anything unreadable as one 'unknown'."""
    try:
        ip = ipaddress.ip_address((addr or "").strip())
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_NETWORK), strict=False))
    return str(ip)


def forgotten(
    last_failed_at: dt.datetime | None, locked_until: dt.datetime | None, now: dt.datetime
) -> bool:
    """Whether a count has been quiet long enough, after its last failure and after its
    last wait ended, to start counting afresh."""
    quiet_since = max(filter(None, (last_failed_at, locked_until)), default=None)
    return quiet_since is None or now - quiet_since >= FORGET_AFTER
