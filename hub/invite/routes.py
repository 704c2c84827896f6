"""`/api/invites`: invite staff, list and withdraw invitations, and accept one (public,
by token)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.auth import credentials
from common.database import db
from common.users.schemas import UserOut
from hub.invite import service
from hub.invite.schemas import InviteAccept, InviteCreate, InviteIssued, InviteOut, InviteQuery

bp = Blueprint("invites", __name__)


@bp.post("/api/invites")
@endpoint("users:manage", body=InviteCreate, response=InviteIssued, status=201)
def create_invite(body: dict[str, Any]) -> Any:
    """Create a staff account and a one-time invitation token (shown once) to activate it."""
    issued = service.invite(db.session, current_actor(), body)
    issued["accept_url"] = url_for("invites.accept_page", _external=True) + "#" + issued["token"]
    return created(InviteIssued().dump(issued), "Invitation created: send the token")


@bp.get("/api/invites")
@endpoint("users:read", query=InviteQuery, response=InviteOut, many=True)
def list_invites(query: dict[str, Any]) -> Any:
    """Invitations, newest first (pending only unless pending=false)."""
    page, per_page = query["page"], query["per_page"]
    rows, total = service.list_invites(db.session, query["pending"], page, per_page)
    return paginated(InviteOut().dump(rows, many=True), page, per_page, total)


@bp.post("/api/invites/<invite_id>/withdraw")
@endpoint("users:manage", response=InviteOut)
def withdraw_invite(invite_id: str) -> Any:
    """Withdraw a pending invitation: its token is refused and its account deactivated."""
    withdrawn = service.withdraw(db.session, current_actor(), invite_id)
    return ok(InviteOut().dump(withdrawn), "Invitation withdrawn")


@bp.post("/api/invites/accept")
@endpoint(public=True, body=InviteAccept, response=UserOut)
def accept_invite(body: dict[str, Any]) -> Any:
    """Accept an invitation: choose the password of the invited account."""
    client = credentials.requester(db.session)
    user = service.accept(db.session, client, body["token"], body["password"])
    return ok(UserOut().dump(user), "Invitation accepted: log in with your new password")


@bp.get("/invite")
@endpoint(public=True, page=True)
def accept_page() -> Any:
    """The page an invited person opens to choose a password (the token is in the URL
    fragment, so it never reaches a server log)."""
    return render_template("invite/accept.html")
