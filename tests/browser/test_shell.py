"""The browser shell renders in real headless Chromium from local assets only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bench.meter import serving
from tests.support.identity import NodeApp, browser_login


def assert_shell(page: Any, app: Flask) -> None:
    page.wait_for_selector("[data-testid=shell-ready]")
    page.wait_for_load_state("load")  # the marker is in the HTML before the scripts run
    assert page.title().endswith(app.config["APP_TITLE"])
    # The stylesheet applied: the top bar carries the brand colour.
    colour = page.eval_on_selector(".topbar", "el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(11, 110, 79)"
    assert page.evaluate("typeof Clinic.api") == "function"


def test_shell_renders_offline(page: Any, node_app: NodeApp) -> None:
    staff = node_app.user("viewer")
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    with serving(node_app.app) as base:
        page.goto(base + "/")
        assert page.url == base + "/login?next=/"  # the start page needs a login
        assert_shell(page, node_app.app)
        browser_login(page, base, staff)
        assert page.url == base + "/"
        assert_shell(page, node_app.app)
        page.set_viewport_size({"width": 800, "height": 1280})  # a 10-inch tablet, portrait
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 800
    assert requested and all(url.startswith(base) for url in requested)
