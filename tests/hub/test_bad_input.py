"""Every write route of the hub, called by an administrator with input it cannot take
(a body that is not an object, or an id that names nothing): a 4xx in the one error
shape, and nothing written. Routes are found by walking the url_map, so a route added
later is covered without anyone listing it here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine, func, select

from schema.models import SyncChange
from tests.support.apps import Route, routes
from tests.support.identity import Staff
from tests.support.tables import AUDIT_TABLES, row_counts

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def written(engine: Engine) -> tuple[dict[str, int], int]:
    """Rows per table, and the changes captured for sync (which an update adds to) other
    than the audit trail's (refusals are audited)."""
    counts = row_counts(engine, ignore=(*AUDIT_TABLES, "sync_change"))
    query = select(func.count()).where(SyncChange.table_name.notin_(AUDIT_TABLES))
    with engine.connect() as connection:
        return counts, connection.scalar(query) or 0


def takes_input(route: Route) -> bool:
    """A route whose input can be wrong: it reads a body or names a row."""
    assert route.spec is not None
    return (
        not route.spec.public
        and not route.spec.device
        and (route.spec.body is not None or "<" in route.rule or route.spec.query is not None)
    )


def test_every_write_route_refuses_bad_input_and_writes_nothing(
    hub_app: Flask, hub_engine: Engine, hub_user: Callable[..., Staff]
) -> None:
    admin = hub_user("administrator")
    client = hub_app.test_client()
    wrong: list[str] = []
    checked = 0
    for route in routes(hub_app):
        if route.method not in WRITES or route.spec is None or not takes_input(route):
            continue
        before = written(hub_engine)
        response: Any = client.open(
            route.url(), method=route.method, json=["not", "an", "object"], headers=admin.headers
        )
        body = response.get_json(silent=True) or {}
        if not 400 <= response.status_code < 500 or body.get("success") is not False:
            wrong.append(f"{route.method} {route.rule}: {response.status_code} {body}")
        elif written(hub_engine) != before:
            wrong.append(f"{route.method} {route.rule}: wrote rows")
        checked += 1
    assert wrong == []
    assert checked >= 30  # the walk really found the write routes
