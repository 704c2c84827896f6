"""The access check every request passes: declared endpoint, authenticated actor, permission.

Installed once per app as a `before_request` hook, so it cannot be forgotten on a route.
An undeclared route is refused (fail closed) and the route-by-role test reports it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, g, redirect, request, url_for

from common.api import endpoint_spec
from common.errors import Forbidden, Unauthorized
from common.permission import permits

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who is acting, passed explicitly to services: never read from request globals there."""

    user_id: str
    username: str
    full_name: str
    role: str
    vehicle_id: str | None
    client_addr: str | None
    user_agent: str | None
    session_id: str | None = None  # the browser session (cookie) the request came with
    token_id: str | None = None  # or the access token's jti, and when it expires
    token_expires_at: dt.datetime | None = None
    token_family: str | None = None  # the login the access token descends from


Authenticate = Callable[[], Actor | None]
OnDenied = Callable[[Actor | None, str, str], None]


def _anonymous() -> Actor | None:
    return None


def _ignore(actor: Actor | None, permission: str, reason: str) -> None:
    return None


def install(app: Flask) -> None:
    """Check every request; authentication and denial auditing are plugged in by the
    identity layer through `set_authenticator` and `set_denial_recorder`."""
    app.extensions.setdefault("clinic.authenticate", _anonymous)
    app.extensions.setdefault("clinic.on_denied", _ignore)
    app.before_request(_check_access)


def set_authenticator(app: Flask, authenticate: Authenticate) -> None:
    app.extensions["clinic.authenticate"] = authenticate


def set_denial_recorder(app: Flask, on_denied: OnDenied) -> None:
    app.extensions["clinic.on_denied"] = on_denied


def current_actor() -> Actor:
    """The authenticated actor of this request (only inside non-public endpoints)."""
    actor = g.get("actor")
    if actor is None:
        raise Unauthorized("Authentication required")
    return actor


def _check_access() -> Any:
    from flask import current_app

    if request.endpoint is None:
        return None  # routing failed: the 404/405 handlers answer
    if request.endpoint == "static" or request.endpoint.endswith(".static"):
        return None
    spec = endpoint_spec(current_app.view_functions.get(request.endpoint))
    if spec is None:
        log.error("refusing undeclared endpoint %s", request.endpoint)
        raise Forbidden("This endpoint has no access declaration")
    if spec.public:
        g.actor = current_app.extensions["clinic.authenticate"]()
        return None
    actor = current_app.extensions["clinic.authenticate"]()
    if actor is None:
        current_app.extensions["clinic.on_denied"](None, spec.permission or "", "unauthenticated")
        if spec.page:
            return redirect(url_for("auth_pages.login", next=request.full_path.rstrip("?")))
        raise Unauthorized("Authentication required")
    g.actor = actor
    if not permits(actor.role, spec.permission or ""):
        current_app.extensions["clinic.on_denied"](actor, spec.permission or "", "forbidden")
        raise Forbidden("Your role does not allow this")
    return None
