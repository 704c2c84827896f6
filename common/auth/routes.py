"""`/api/auth/*`: log in, refresh, log out, who am I; TOTP set-up at the hub."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g

from common.access import current_actor
from common.api import endpoint, ok
from common.auth import credentials, service, tokens
from common.auth.schemas import (
    LoginBody,
    LogoutBody,
    MeOut,
    PasswordChange,
    RefreshBody,
    TokensOut,
    TotpCode,
    TotpEnable,
)
from common.database import db
from common.users.schemas import UserOut
from common.users.service import get_user

bp = Blueprint("auth", __name__)
totp_bp = Blueprint("totp", __name__)


@bp.post("/api/auth/login")
@endpoint(public=True, body=LoginBody, response=TokensOut)
def login(body: dict[str, Any]) -> Any:
    """Log in with username and password (and authenticator code if enabled): tokens."""
    client = credentials.requester(db.session)
    user = service.api_login(db.session, service.Attempt(**body), credentials.lockout(), client)
    user_view = UserOut().dump(get_user(db.session, user.id))
    return ok({**tokens.issue(credentials.secret(), user), "user": user_view}, "Logged in")


@bp.post("/api/auth/refresh")
@endpoint(public=True, body=RefreshBody, response=TokensOut)
def refresh(body: dict[str, Any]) -> Any:
    """A new access token for a valid refresh token."""
    claims = tokens.read(db.session, body["refresh_token"], tokens.REFRESH)
    service.refresh(db.session, claims, credentials.requester(db.session), credentials.secret())
    return ok(tokens.access(claims["sub"], claims))


@bp.post("/api/auth/logout")
@endpoint(public=True, body=LogoutBody, body_optional=True)
def logout(body: dict[str, Any]) -> Any:
    """End the browser session, or the access token's whole family (its refresh token
    and the access tokens refreshed from it), and the given refresh token's family."""
    given = body.get("refresh_token")
    refresh_claims = tokens.read(db.session, given, tokens.REFRESH) if given else None
    client = credentials.requester(db.session)
    service.logout(db.session, g.get("actor"), refresh_claims, client)
    response = ok(None, "Logged out")
    credentials.clear_session_cookie(response)
    return response


@bp.get("/api/auth/me")
@endpoint("profile:read", response=MeOut)
def me() -> Any:
    """Who is logged in, with their permissions."""
    return ok(MeOut().dump(service.me(db.session, current_actor())))


@bp.get("/api/auth/verify")
@endpoint("profile:read")
def verify() -> Any:
    """Whether the credentials are still good (and, for the browser, keep the session alive)."""
    actor = current_actor()
    expires = actor.token_expires_at.isoformat() if actor.token_expires_at else None
    return ok({"valid": True, "user_id": actor.user_id, "role": actor.role, "expires_at": expires})


@bp.post("/api/auth/password")
@endpoint("profile:read", body=PasswordChange)
def change_password(body: dict[str, Any]) -> Any:
    """Change your own password (required after a reset: a temporary password allows
    nothing else). Every token and session of yours ends; a token caller gets a new
    pair, a browser a new session."""
    actor = current_actor()
    user = service.change_password(
        db.session, actor, body["current_password"], body["new_password"]
    )
    if actor.session_id is None:
        return ok(tokens.issue(credentials.secret(), user), "Password changed")
    response = ok(None, "Password changed")
    credentials.renew_session(response, user)
    return response


@totp_bp.post("/api/auth/totp/setup")
@endpoint("users:manage")
def totp_setup() -> Any:
    """A new authenticator secret and its provisioning URI (administrators)."""
    issuer = current_app.config["APP_TITLE"]
    return ok(service.totp_setup(current_actor(), issuer))


@totp_bp.post("/api/auth/totp/enable")
@endpoint("users:manage", body=TotpEnable)
def totp_enable(body: dict[str, Any]) -> Any:
    """Require the authenticator code at login, once a code proves the app has the secret."""
    service.totp_enable(db.session, current_actor(), body["secret"], body["code"])
    return ok(None, "Authenticator app enabled")


@totp_bp.post("/api/auth/totp/disable")
@endpoint("users:manage", body=TotpCode)
def totp_disable(body: dict[str, Any]) -> Any:
    """Stop requiring the authenticator code (a current code is needed)."""
    service.totp_disable(db.session, current_actor(), body["code"])
    return ok(None, "Authenticator app disabled")
