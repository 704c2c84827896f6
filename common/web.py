"""Wire an app the same way on edge and hub: database, errors, access, shell, headers."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from common import access, auditseal
from common.database import configure_engine, db, reset_write_intent, set_write_intent
from common.errors import register_error_handlers
from common.health import bp as health_bp
from common.meta import bp as meta_bp
from common.ui import bp as ui_bp

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


def init_app(app: Flask, *, title: str, home_endpoint: str) -> None:
    app.config.setdefault("SESSION_COOKIE_NAME", "clinic_session")
    app.config["APP_TITLE"] = title
    app.config["HOME_ENDPOINT"] = home_endpoint
    app.extensions.setdefault("clinic.nav", [])
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)
        _seal_audit_with(app)
    register_error_handlers(app)
    app.before_request(_limit_body)
    app.before_request(_begin_write_intent)  # before access: auth reads join the write lock
    access.install(app)
    app.teardown_request(_end_write_intent)
    app.after_request(_security_headers)
    app.context_processor(_shell_context)
    for blueprint in (ui_bp, health_bp, meta_bp):
        app.register_blueprint(blueprint)


def _seal_audit_with(app: Flask) -> None:
    """The node's audit key (`common.auditseal`), read with the other secret files: a
    node without one refuses to start rather than write records it cannot seal."""
    hint = f"run `clinic-{app.config['NODE_KIND']} migrate` first, which makes it"
    auditseal.use(db.engine, auditseal.from_config(app.config, hint))


def add_nav(app: Flask, label: str, endpoint: str, permission: str) -> None:
    """A main-menu entry, shown to roles that hold `permission`."""
    app.extensions["clinic.nav"].append(
        {"label": label, "endpoint": endpoint, "permission": permission}
    )


def _limit_body() -> None:
    """Refuse an oversized body before anything else runs, read or not."""
    from flask import current_app

    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and (request.content_length or 0) > limit:
        raise RequestEntityTooLarge()


def _begin_write_intent() -> None:
    if request.method not in _READ_METHODS:
        g.write_intent_token = set_write_intent(True)


def _end_write_intent(_error: BaseException | None) -> None:
    token = g.pop("write_intent_token", None)
    if token is not None:
        reset_write_intent(token)


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api") or response.mimetype == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _shell_context() -> dict[str, Any]:
    from flask import current_app

    from common.permission import permits

    actor = g.get("actor")
    nav = [
        item
        for item in current_app.extensions["clinic.nav"]
        if actor is not None and permits(actor.role, item["permission"])
    ]
    return {
        "app_title": current_app.config["APP_TITLE"],
        "home_endpoint": current_app.config["HOME_ENDPOINT"],
        "actor": actor,
        "nav_items": nav,
        "csrf_token": g.get("csrf_token"),
    }
