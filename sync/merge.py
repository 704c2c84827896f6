"""Three-way merge of list values (allergies, chronic conditions) edited concurrently.

An item survives when both sides have it, or when either side added it since the value
both started from; an item either side removed is gone. Items compare without regard to
case or surrounding spaces, keeping the first spelling seen.
"""

from __future__ import annotations

from typing import Any


def _key(item: Any) -> Any:
    return item.strip().casefold() if isinstance(item, str) else item


def same_list(a: Any, b: Any) -> bool:
    """Whether two lists hold the same items (as sets: an allergy listed twice is once)."""
    if not isinstance(a, list) or not isinstance(b, list):
        return a == b
    return {repr(_key(item)) for item in a} == {repr(_key(item)) for item in b}


def merge_lists(prior: list[Any], current: list[Any], incoming: list[Any]) -> list[Any]:
    """`current` and `incoming` both derive from `prior`; combine their edits."""
    before = {_key(item) for item in prior}
    here = {_key(item) for item in current}
    there = {_key(item) for item in incoming}
    merged: list[Any] = []
    seen: set[Any] = set()
    for item in [*current, *incoming]:
        key = _key(item)
        if key in seen:
            continue
        both = key in here and key in there
        added = key not in before
        if both or added:
            merged.append(item)
            seen.add(key)
    return merged
