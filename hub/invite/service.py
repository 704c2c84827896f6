"""Invitations: an account made at head office, activated by its owner choosing a password.

Only a hash of the token is stored; the token itself is shown once to the inviting
administrator, who sends it on. Until it is accepted nobody knows the account's password.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.audit import Who
from common.errors import BadRequest, Conflict, NotFound
from common.password import hash_password, password_problem
from common.users import service as users
from schema.base import new_id, utcnow
from schema.models import Invite, User

VALID_FOR = dt.timedelta(days=7)
NOT_VALID = "This invitation is not valid: it was used, has expired or was withdrawn"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """A new account and a one-time token for its owner to choose the password."""
    user = users.create_user(session, **data, password=users.temporary_password())
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = Invite(
        id=new_id(),
        token_hash=digest(token),
        user_id=user.id,
        created_by=actor.user_id,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    session.add(row)
    audit.record(session, actor, "user_invited", resource_type="user", resource_id=user.id)
    session.commit()
    view = users.views(session, [user])[0]
    return {"invite": _view(row, user.username), "user": view, "token": token}


def accept(session: Session, client: Who, token: str, password: str) -> dict[str, Any]:
    """Set the invited account's password, once, before the invitation expires."""
    row = session.scalar(select(Invite).where(Invite.token_hash == digest(token)).with_for_update())
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or row.accepted_at is not None or row.withdrawn_at:
        raise BadRequest(NOT_VALID)
    if row.expires_at <= utcnow() or not user.active:
        raise BadRequest(NOT_VALID)
    problem = password_problem(password)
    if problem:
        raise BadRequest("Invalid input", details={"password": [problem]})
    user.password_hash = hash_password(password)
    user.must_change_password = False
    row.accepted_at = utcnow()
    who = Who(user.id, user.username, user.role, client.client_addr, client.user_agent, None)
    audit.record(session, who, "invite_accepted", resource_type="user", resource_id=user.id)
    session.commit()
    return users.views(session, [user])[0]


def withdraw(session: Session, actor: Actor, invite_id: str) -> dict[str, Any]:
    """Take back a pending invitation: its token stops working and the account it made,
    never used, is deactivated (so it is refused on the vehicles too after their sync)."""
    row = session.get(Invite, invite_id, with_for_update=True, populate_existing=True)
    if row is None:
        raise NotFound("No such invitation")
    if row.accepted_at is not None:
        raise Conflict("This invitation was already accepted: deactivate the user instead")
    if row.withdrawn_at is not None:
        raise Conflict("This invitation was already withdrawn")
    user = session.get_one(User, row.user_id)
    row.withdrawn_at, user.active = utcnow(), False
    audit.record(session, actor, "invite_withdrawn", resource_type="user", resource_id=user.id)
    session.commit()
    return _view(row, user.username)


def list_invites(
    session: Session, pending: bool, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Invitations, newest first; `pending` keeps those not yet accepted, withdrawn or
    expired."""
    query = select(Invite, User.username).join(User, User.id == Invite.user_id)
    if pending:
        query = query.where(Invite.accepted_at.is_(None), Invite.withdrawn_at.is_(None))
        query = query.where(Invite.expires_at > utcnow())
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(Invite.created_at.desc(), Invite.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return [_view(row, username) for row, username in rows], total


def _view(row: Invite, username: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "username": username,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "accepted_at": row.accepted_at,
        "withdrawn_at": row.withdrawn_at,
    }
