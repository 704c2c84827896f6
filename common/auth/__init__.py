"""Identity for both apps: tokens, browser sessions, login, lockout, the auth endpoints
and pages, plugged into the access check of `common.access`."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from limits import parse_many

from common import access
from common.config import ConfigError

# Views that check a password: rate-limited per client address, with one count for all.
LOGIN_VIEWS = ("auth.login", "auth_pages.login_submit")
LOGIN_SCOPE = "login"


def install(app: Flask, *, totp: bool = False) -> None:
    """Authenticate every request, audit every denial, serve the auth API and pages.
    `totp` offers administrators an authenticator-app second factor (the hub)."""
    from common.auth import credentials, pages, routes, tokens

    app.config["AUTH_COOKIE_NAME"] = credentials.COOKIE
    # Flask's own signed session (flash messages only) gets the same protections.
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("COOKIE_SECURE", True))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    tokens.init_app(app)
    access.set_authenticator(app, credentials.authenticate)
    access.set_denial_recorder(app, credentials.record_denial)
    app.register_blueprint(routes.bp)
    app.register_blueprint(pages.bp)
    if totp:
        app.register_blueprint(routes.totp_bp)
    _limit_logins(app)


def _limit_logins(app: Flask) -> None:
    """LOGIN_RATE_LIMIT per client address, in this app's own storage (in-process on the
    edge, RATELIMIT_STORAGE_URI at the hub so several processes share the count). The API
    and the login form share one count: a limit per view would let an address try twice
    as many passwords by alternating between them."""
    limiter = Limiter(
        _client,
        storage_uri=app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        on_breach=_record_breach,
    )
    limiter.init_app(app)
    rate = app.config["LOGIN_RATE_LIMIT"]
    try:
        parse_many(rate)
    except ValueError:
        raise ConfigError(
            f"LOGIN_RATE_LIMIT must look like '20 per minute', got {rate!r}"
        ) from None
    shared = limiter.shared_limit(rate, scope=LOGIN_SCOPE)
    for name in LOGIN_VIEWS:
        app.view_functions[name] = shared(app.view_functions[name])


def _client() -> str:
    """The address a client is counted under: an IPv6 client by its /64 network, as the
    lockout counts it (`common.auth.lockout.address_key`)."""
    from common.auth.lockout import address_key

    return address_key(get_remote_address())


def _record_breach(limit: RequestLimit) -> None:
    from common.audit import DENIED, record_apart
    from common.auth.credentials import requester
    from common.database import db

    detail = {"limit": str(limit.limit)}
    record_apart(
        db.session, requester(db.session), "login_rate_limited", outcome=DENIED, detail=detail
    )
