"""Walk an app's registered routes, for the tests that must cover every one of them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask

from common.api import EndpointSpec, endpoint_spec

_ARGUMENT = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")
MISSING_ID = "00000000-0000-7000-8000-000000000000"


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    endpoint: str
    spec: EndpointSpec | None

    def url(self) -> str:
        return _ARGUMENT.sub(MISSING_ID, self.rule)


def routes(app: Flask) -> Iterator[Route]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        view = app.view_functions[rule.endpoint]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield Route(rule.rule, method, rule.endpoint, endpoint_spec(view))
