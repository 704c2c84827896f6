"""The crew's start page shows the sync state, and warns when the laptop's clock drifts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Engine, text

from bench.meter import serving
from tests.support.identity import Staff, browser_login


def test_the_start_page_shows_waiting_work_and_a_clock_warning(
    page: Any, edge_app: Flask, edge_engine: Engine, edge_user: Callable[..., Staff]
) -> None:
    nurse = edge_user("nurse")
    with edge_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sync_link (peer, pushed_seq, pull_cursor, scope_seq, digest, "
                "failures, clock_offset_ms, last_error) VALUES ('hub', 0, 0, 0, '', 1, "
                "900000, 'cannot reach the hub: ConnectionError')"
            )
        )
    with serving(edge_app) as base:
        browser_login(page, base, nurse)
        panel = page.locator("[data-testid=sync-status]")
        assert "not enrolled" in panel.inner_text()
        assert "cannot reach the hub" in panel.inner_text()
        warning = page.locator("[data-testid=clock-warning]").inner_text()
        assert "900 s ahead of the hub" in warning
