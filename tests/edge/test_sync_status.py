"""The edge's sync status, "sync now", the scheduler's backoff and the clock warning."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine, text

from edge.sync import service
from tests.support.identity import Staff


def set_link(engine: Engine, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sync_link (peer, pushed_seq, pull_cursor, scope_seq, digest, "
                "failures) VALUES ('hub', 0, 0, 0, '', 0)"
            )
        )
        for column, value in values.items():
            connection.execute(text(f"UPDATE sync_link SET {column} = :v"), {"v": value})  # noqa: S608


def test_the_scheduler_backs_off_after_failures(edge_engine: Engine) -> None:
    failed_at = dt.datetime(2026, 12, 1, 8, 0)
    set_link(edge_engine, failures=3, last_error_at=failed_at)
    at = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
    assert not service.due(edge_engine, 60, at + dt.timedelta(seconds=60 * 8 - 1))
    assert service.due(edge_engine, 60, at + dt.timedelta(seconds=60 * 8))


def test_a_healthy_link_syncs_every_interval(edge_engine: Engine) -> None:
    assert service.due(edge_engine, 60, dt.datetime.now(dt.UTC))


def test_a_drifting_clock_is_reported(edge_app: Flask, edge_engine: Engine) -> None:
    set_link(edge_engine, clock_offset_ms=-600_000)
    state = service.status(edge_engine, edge_app.config)
    assert "600 s behind the hub" in state["clock_warning"]


def test_status_and_sync_now_over_the_api(
    edge_client: Any, edge_user: Callable[..., Staff], edge_app: Flask, tmp_path: Any
) -> None:
    edge_app.config["SECRETS_DIR"] = str(tmp_path / "not-enrolled")
    admin = edge_user("administrator")
    state = edge_client.get("/api/sync/status", headers=admin.headers).get_json()["data"]
    assert state["enrolled"] is False and state["synced"] is False
    assert state["pending_changes"] >= 1  # the user made for this test is waiting to go
    refused = edge_client.post("/api/sync/now", headers=admin.headers)
    assert refused.status_code == 409
    assert "not enrolled" in refused.get_json()["error"]
