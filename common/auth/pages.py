"""The login page and logout for the browser shell of both apps."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from common.access import current_actor
from common.api import endpoint
from common.auth import credentials, service
from common.auth.schemas import LoginForm, PasswordForm
from common.database import db
from common.errors import APIError
from common.users import find_by_username

bp = Blueprint("auth_pages", __name__)

NOTICES = {
    "idle": "You were logged off after {minutes} minutes without activity. Log in again.",
    "expired": "Your session has expired. Log in again.",
    "changed": "Your password or role was changed, or your account deactivated. Log in again.",
    "logged_out": "You have logged out.",
}


@bp.get("/login")
@endpoint(public=True, page=True)
def login() -> Any:
    """The login page."""
    target = _safe_next(request.args.get("next", ""))
    if g.get("actor") is not None:
        return redirect(target)
    response = current_app.make_response(_form(notice=_notice(), next_url=target))
    credentials.clear_session_cookie(response)  # a dead session's cookie is of no further use
    return response


@bp.post("/login")
@endpoint(public=True, page=True)
def login_submit() -> Any:
    """Log in from the login page: a browser session in an HttpOnly cookie."""
    try:
        form = LoginForm().load(request.form.to_dict())
    except ValidationError:
        target = _safe_next(request.form.get("next", ""))
        return _form("Enter your username and password.", next_url=target, status=400)
    target = _safe_next(form.pop("next"))
    attempt = service.Attempt(form["username"], form["password"], form["totp"] or None)
    client = credentials.requester(db.session)
    browser = credentials.browser_login()
    try:
        raw_id = service.browser_login(db.session, attempt, credentials.lockout(), client, browser)
    except APIError as refusal:
        needs_code = refusal.message in (service.TOTP_REQUIRED, service.WRONG_TOTP)
        return _form(refusal.message, form["username"], target, needs_code, refusal.status)
    user = find_by_username(db.session, form["username"])
    if user is not None and user.must_change_password:
        target = url_for("auth_pages.password")
    response = redirect(target)
    credentials.set_session_cookie(response, raw_id, browser.max_age)
    return response


@bp.get("/password")
@endpoint("profile:read", page=True)
def password() -> Any:
    """The change-password page (where a temporary password leads)."""
    return render_template("auth/password.html", error=None)


@bp.post("/password")
@endpoint("profile:read", page=True)
def password_submit() -> Any:
    """Change your own password from the page."""
    try:
        form = PasswordForm().load(request.form.to_dict())
        user = service.change_password(
            db.session, current_actor(), form["current_password"], form["new_password"]
        )
    except (ValidationError, APIError) as problem:
        message = "Enter your current and new password."
        if isinstance(problem, APIError):
            details = problem.details or {}
            message = " ".join(m for ms in details.values() for m in ms) or problem.message
        return render_template("auth/password.html", error=message), 400
    flash("Your password is changed. Every other session of yours has ended.", "success")
    response = redirect(url_for(current_app.config["HOME_ENDPOINT"]))
    credentials.renew_session(response, user)  # this browser's session ended with the rest
    return response


@bp.post("/logout")
@endpoint(public=True, page=True)
def logout() -> Any:
    """Log out of the browser session and return to the login page."""
    service.logout(db.session, g.get("actor"), None, credentials.requester(db.session))
    response = redirect(url_for("auth_pages.login", logged_out=1))
    credentials.clear_session_cookie(response)
    return response


def _form(
    error: str | None = None,
    username: str = "",
    next_url: str = "",
    needs_code: bool = False,
    status: int = 200,
    notice: str | None = None,
) -> Any:
    page = render_template(
        "auth/login.html",
        error=error,
        notice=notice,
        username=username,
        next_url=next_url,
        needs_code=needs_code,
    )
    return page, status


def _notice() -> str | None:
    """What to tell someone arriving at the login page: why their session ended."""
    reason = credentials.session_ended()
    for key in ("idle", "expired", "logged_out"):
        if request.args.get(key):
            reason = key
    template = NOTICES.get(reason or "")
    return template.format(minutes=current_app.config["IDLE_TIMEOUT_MINUTES"]) if template else None


def _safe_next(target: str) -> str:
    """Only a path on this site: never an open redirect to somewhere else."""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        if "\\" not in target and not parts.scheme:
            return target
    return url_for(current_app.config["HOME_ENDPOINT"])
