"""Who is calling: the authenticator and denial recorder plugged into `common.access`.

A request authenticates with a bearer access token (API clients) or the session cookie
(the browser pages). Either way the user is loaded from the database on every request,
so deactivation, a role change or removal from the vehicle takes effect at once, and
the credential must have been issued to the user as they stand now
(`common.auth.standing`): a new password, role or deactivation ends every token and
browser session issued before. A cookie-authenticated write must carry the session's
CSRF token. On a public endpoint a refused credential just means "anonymous"; elsewhere
it is a recorded 401.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from flask import current_app, g, request
from sqlalchemy import and_, bindparam, select, true
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.api import endpoint_spec
from common.audit import Who
from common.auth import sessions, standing, tokens
from common.auth.lockout import Lockout
from common.auth.service import (
    PASSWORD_CHANGE_REQUIRED,
    BrowserLogin,
    refusal,
    refusal_for,
    renew_browser_session,
)
from common.database import db, transaction_apart, write_intended
from common.errors import APIError, Forbidden, Unauthorized
from common.node import remember, this_node
from schema.models import SyncNode, User, UserVehicle, WebSession

COOKIE = "clinic_auth"
SECURE_COOKIE = "__Host-" + COOKIE  # browsers bind it to this exact origin over HTTPS
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# All a user holding a temporary password may do: see who they are, change it, log out.
PASSWORD_CHANGE_ENDPOINTS = frozenset(
    {
        "auth.me",
        "auth.verify",
        "auth.change_password",
        "auth_pages.password",
        "auth_pages.password_submit",
    }
)


def authenticate() -> Actor | None:
    """The actor behind the request's credentials, or None when it presents none."""
    try:
        found = _actor(db.session)
    except APIError as refusal:
        if _public():
            return None
        record_denial(None, _permission(), refusal.message)
        raise
    if found is None:
        return None
    actor, user = found
    if actor.session_id is not None:
        _check_csrf(actor)
    if _password_change_pending(user):
        record_denial(actor, _permission(), "password change required")
        raise Forbidden(PASSWORD_CHANGE_REQUIRED)
    return actor


def _password_change_pending(user: User) -> bool:
    if _public() or request.endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return False
    return user.must_change_password


def record_denial(actor: Actor | None, permission: str, reason: str) -> None:
    """Every refused request leaves an audit record, committed before the refusal."""
    detail = {"permission": permission, "reason": reason, "method": request.method}
    detail["path"] = request.path
    who = Who.of(actor) if actor is not None else requester(db.session)
    audit.record_apart(db.session, who, "access_denied", outcome=audit.DENIED, detail=detail)


def requester(session: Session) -> Who:
    """The calling client, before (or without) knowing who the user is."""
    node = this_node(session)
    return Who(
        None,
        None,
        None,
        request.remote_addr,
        request.user_agent.string or None,
        node.vehicle_id if node else None,
    )


def session_cookie_name() -> str:
    return SECURE_COOKIE if request.is_secure else COOKIE


def session_ended() -> str | None:
    """Why the browser's session ended (idle, expired, changed credentials), when it
    still sends the cookie."""
    raw_id = request.cookies.get(session_cookie_name())
    web = sessions.find(db.session, raw_id) if raw_id else None
    if web is None:
        return None
    user = db.session.get(User, web.user_id)
    if user is not None and not standing.holds(secret(), user, web.credentials):
        return sessions.CHANGED
    return sessions.ended(web, idle_limit())


def secret() -> str:
    """The app's secret key, which keys the credential standing (`common.auth.standing`)."""
    return str(current_app.config["SECRET_KEY"])


def credential_stamp(user: User) -> str:
    """The standing a credential issued to `user` now carries."""
    return standing.stamp(secret(), user)


def set_session_cookie(response: Any, raw_id: str, max_age: dt.timedelta) -> None:
    response.set_cookie(
        session_cookie_name(),
        raw_id,
        max_age=int(max_age.total_seconds()),
        path="/",
        secure=request.is_secure or bool(current_app.config.get("COOKIE_SECURE", True)),
        httponly=True,
        samesite="Strict",
    )


def clear_session_cookie(response: Any) -> None:
    response.delete_cookie(
        session_cookie_name(),
        path="/",
        secure=request.is_secure or bool(current_app.config.get("COOKIE_SECURE", True)),
        httponly=True,
        samesite="Strict",
    )


def idle_limit() -> dt.timedelta:
    return dt.timedelta(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"])


def browser_login() -> BrowserLogin:
    """How this app makes browser sessions."""
    return BrowserLogin(session_lifetime(), secret())


def renew_session(response: Any, user: User) -> None:
    """A new browser session on `response` for a user whose standing has just changed
    (a new password), which ended the session the request came with."""
    raw_id = renew_browser_session(db.session, user, browser_login())
    set_session_cookie(response, raw_id, session_lifetime())


def lockout() -> Lockout:
    config = current_app.config
    return Lockout(config["LOCKOUT_THRESHOLD"], config["LOCKOUT_MINUTES"])


def session_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config.get("SESSION_MAX_HOURS", 12))


def _actor(session: Session) -> tuple[Actor, User] | None:
    """The actor and the user row behind the request's credentials (the caller checks
    the row further without loading it again)."""
    header = request.headers.get("Authorization")
    if header is not None:
        return _token_actor(session, header)
    raw_id = request.cookies.get(session_cookie_name())
    if raw_id:
        return _session_actor(session, raw_id)
    return None


def _token_actor(session: Session, header: str) -> tuple[Actor, User]:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send the access token as 'Authorization: Bearer <token>'")
    claims = tokens.read(session, token.strip(), tokens.ACCESS)
    user = _usable_user(session, str(claims["sub"]))
    if not tokens.stands(secret(), claims, user):
        raise Unauthorized(tokens.ENDED)
    actor = _actor_of(
        session,
        user,
        token_id=claims["jti"],
        expires=tokens.expiry(claims),
        family=claims[tokens.FAMILY],
    )
    return actor, user


def _session_actor(session: Session, raw_id: str) -> tuple[Actor, User] | None:
    found = _signed_in(session, raw_id)
    if found is None:
        return None
    web, user, node, assigned = found
    if sessions.ended(web, idle_limit()) is not None:
        return None
    if not standing.holds(secret(), user, web.credentials):
        return None  # a new password, role or deactivation since it began
    if refusal(user, node, lambda _vehicle: assigned) is not None:
        return None
    if sessions.needs_touch(web):
        _touch(session, web)
    g.csrf_token = web.csrf_token
    return _actor_of(session, user, session_id=web.id), user


# A browser session, its user, this node and whether the user is assigned to the node's
# vehicle, in one query: every request from a browser needs all four, and a query for
# each took a quarter of a read's time. Built once: building it cost a fifth of running it.
_SIGNED_IN = (
    select(WebSession, User, SyncNode, UserVehicle.id)
    .join(User, User.id == WebSession.user_id)
    .outerjoin(SyncNode, true())  # the database's one node row
    .outerjoin(
        UserVehicle,
        and_(UserVehicle.user_id == User.id, UserVehicle.vehicle_id == SyncNode.vehicle_id),
    )
    .where(WebSession.id == bindparam("session_digest"))
)


def _signed_in(
    session: Session, raw_id: str
) -> tuple[WebSession, User, SyncNode | None, bool] | None:
    row = session.execute(_SIGNED_IN, {"session_digest": sessions.digest(raw_id)}).first()
    if row is None:
        return None
    web, user, node, link = row
    remember(session, node)
    return web, user, node, link is not None


def _touch(session: Session, web: WebSession) -> None:
    """Keep the session alive; in a GET in its own transaction, never upgrading the read."""
    if write_intended():
        sessions.touch(session, web.id)
        return
    with transaction_apart(session):
        sessions.touch(session, web.id)


def _usable_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Unauthorized("The token is not valid")
    refusal = refusal_for(session, user)
    if refusal is not None:
        raise Unauthorized(refusal)
    return user


def _actor_of(
    session: Session,
    user: User,
    *,
    session_id: str | None = None,
    token_id: str | None = None,
    expires: dt.datetime | None = None,
    family: str | None = None,
) -> Actor:
    client = requester(session)
    return Actor(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        vehicle_id=client.vehicle_id,
        client_addr=client.client_addr,
        user_agent=client.user_agent,
        session_id=session_id,
        token_id=token_id,
        token_expires_at=expires,
        token_family=family,
    )


def _check_csrf(actor: Actor) -> None:
    """A cookie-authenticated write must echo the session's CSRF token."""
    if request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    expected = g.csrf_token
    if not hmac.compare_digest(sent.encode("utf-8", "surrogateescape"), expected.encode()):
        record_denial(actor, _permission(), "missing or wrong CSRF token")
        raise Forbidden("Missing or wrong CSRF token: reload the page and try again")


def _public() -> bool:
    spec = endpoint_spec(current_app.view_functions.get(request.endpoint or ""))
    return spec is not None and spec.public


def _permission() -> str:
    spec = endpoint_spec(current_app.view_functions.get(request.endpoint or ""))
    return (spec.permission or "") if spec is not None else ""
