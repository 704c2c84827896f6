"""When stock is low or a lot is expiring, and the alert that says so.

The edge raises these alerts as stock moves and the hub raises them from the fleet's
ledger; both build them here so the same condition carries the same `dedupe_key` and an
alert synced from one side stops the other raising a second.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# A lot is "expiring" within the last band; each band has its own alert (and priority).
EXPIRY_BANDS = ((0, "critical"), (30, "high"), (60, "medium"), (90, "low"))
EXPIRY_HORIZON = dt.timedelta(days=EXPIRY_BANDS[-1][0])


def is_low(on_hand: int, reorder_level: int) -> bool:
    """Below the item's reorder level; an item without one is never low."""
    return reorder_level > 0 and on_hand < reorder_level


def expiry_band(days_to_expiry: int) -> tuple[int, str]:
    """The band (days) a lot falls in and its priority; past the horizon, the last band."""
    return next(((b, p) for b, p in EXPIRY_BANDS if days_to_expiry <= b), EXPIRY_BANDS[-1])


def low_stock_alert(item_id: str, name: str, unit: str, left: int) -> dict[str, Any]:
    """The fields of a low-stock alert: high once nothing is left."""
    return {
        "kind": "low_stock",
        "priority": "high" if left <= 0 else "medium",
        "title": f"Low stock: {name} ({left} {unit} left)",
        "resource_type": "item",
        "resource_id": item_id,
        "dedupe_key": f"low_stock:{item_id}",
    }


def expiry_alert(lot_id: str, name: str, batch: str, days: int, left: int) -> dict[str, Any]:
    """The fields of a lot's expiry alert; a new one each time the lot enters a nearer band."""
    band, priority = expiry_band(days)
    if days < 0:
        title = f"Expired: {name} batch {batch} ({left} left)"
    else:
        title = f"Expires in {days} days: {name} batch {batch} ({left} left)"
    return {
        "kind": "stock_expiry",
        "priority": priority,
        "title": title,
        "resource_type": "lot",
        "resource_id": lot_id,
        "dedupe_key": f"expiry:{lot_id}:{band}",
    }
