"""Faults a real scheme's API shows, injected on purpose so clients can be tested against
them: 5xx errors, slow answers, timeouts and dropped connections, before or after the
request is processed, deterministic when asked (every Nth request, or a seeded rate).

The injector is WSGI middleware around the Flask app, so an `after` fault acts once the
app has finished and committed, and a drop reaches waitress as a dropped connection
(waitress closes the socket without a byte of response when the app raises
`ClientDisconnected`). Faults apply to the scheme API (/v1/...) only, never to /admin
or /health, so a test can always see and clear them.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from waitress.channel import ClientDisconnected
from werkzeug.wrappers import Response

SCHEME_PREFIX = "/v1/"


@dataclass
class Rule:
    """One fault: what (`kind`), `when`, on which requests, and how often."""

    kind: str
    when: str = "before"
    method: str | None = None
    path: str | None = None
    every: int | None = None
    rate: float | None = None
    times: int | None = None
    status: int | None = None
    seconds: float | None = None
    seen: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and path.startswith(self.path or SCHEME_PREFIX)

    def triggers(self, chance: random.Random) -> bool:
        """Count a matching request and say whether the fault fires on it. A seeded rate
        draws for every match, so the pattern depends only on the order of requests."""
        self.seen += 1
        if self.rate is not None:
            due = chance.random() < self.rate
        else:
            due = self.seen % (self.every or 1) == 0
        if not due or (self.times is not None and self.fired >= self.times):
            return False
        self.fired += 1
        return True


class FaultPlan:
    """The faults in force; replaced whole at runtime, shared by all request threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.replace([], None)

    def replace(self, rules: Iterable[dict[str, Any]], seed: int | None) -> None:
        with self._lock:
            self._rules = [Rule(**rule) for rule in rules]
            self._seed = seed
            self._chance = random.Random(seed)  # noqa: S311  # nosec B311 - test faults, not security

    def fire(self, method: str, path: str) -> list[Rule]:
        """The rules that fire on this request, decided in arrival order under a lock."""
        with self._lock:
            return [
                rule
                for rule in self._rules
                if rule.matches(method, path) and rule.triggers(self._chance)
            ]

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "rules": [asdict(rule) for rule in self._rules]}


class FaultInjector:
    """WSGI middleware that applies the plan's faults to scheme API requests."""

    def __init__(self, app: Callable[..., Any], plan: FaultPlan) -> None:
        self.app = app
        self.plan = plan

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        fired = self.plan.fire(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
        if not fired:
            return self.app(environ, start_response)
        response = _inflict([rule for rule in fired if rule.when == "before"])
        if response is None:
            response = Response.from_app(self.app, environ, buffered=True)
            response = _inflict([rule for rule in fired if rule.when == "after"]) or response
        return response(environ, start_response)


def _inflict(rules: list[Rule]) -> Response | None:
    """Sleep, drop the connection, or answer with an error in place of the real response."""
    for rule in rules:
        if rule.kind == "delay":
            time.sleep(rule.seconds or 0)
        elif rule.kind == "drop":
            raise ClientDisconnected(f"sandbox fault: connection dropped {rule.when} processing")
        else:
            status = rule.status or 503
            body = {
                "success": False,
                "error": f"Sandbox fault: HTTP {status} {rule.when} processing",
            }
            return Response(
                json.dumps(body),
                status,
                mimetype="application/json",
                headers={"X-Sandbox-Fault": "error"},
            )
    return None
