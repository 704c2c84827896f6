"""A clock the test moves forward, for lockout windows, idle limits and expiry."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import ModuleType

import pytest

from schema.base import utcnow


def movable_clock(
    monkeypatch: pytest.MonkeyPatch, *modules: ModuleType
) -> Callable[[dt.timedelta], None]:
    """Make `utcnow` in each module a clock that runs on from now, and return the function
    that moves it forward."""
    offset = dt.timedelta()

    def advance(delta: dt.timedelta) -> None:
        nonlocal offset
        offset += delta

    for module in modules:
        monkeypatch.setattr(module, "utcnow", lambda: utcnow() + offset)
    return advance
