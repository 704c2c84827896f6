"""Browser sessions behind the session cookie: revocable, ended by idleness or age.

Only a hash of the session id is stored, so a copy of the database does not hand out
live sessions. Each session has its own CSRF token for cookie-authenticated writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import update
from sqlalchemy.orm import Session

from schema.base import utcnow
from schema.models import WebSession

# Activity is written back at most this often: enough for a 30-minute idle limit.
TOUCH_INTERVAL = dt.timedelta(minutes=1)

IDLE = "idle"
EXPIRED = "expired"
REVOKED = "revoked"
CHANGED = "changed"  # the user's password, role or active flag changed since it began


def digest(raw_id: str) -> str:
    return hashlib.sha256(raw_id.encode("utf-8", "surrogateescape")).hexdigest()


def start(
    session: Session, user_id: str, max_age: dt.timedelta, credentials: str
) -> tuple[str, WebSession]:
    """A new session for the user at their standing `credentials` (`common.auth.
    standing`); returns the raw id for the cookie (never stored) and the row."""
    raw_id = secrets.token_urlsafe(32)
    now = utcnow()
    web = WebSession(
        id=digest(raw_id),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + max_age,
        credentials=credentials,
    )
    session.add(web)
    session.flush()
    return raw_id, web


def find(session: Session, raw_id: str) -> WebSession | None:
    return session.get(WebSession, digest(raw_id))


def ended(web: WebSession, idle_limit: dt.timedelta) -> str | None:
    """Why the session is over (revoked, expired, idle), or None while it is live."""
    now = utcnow()
    if web.revoked_at is not None:
        return REVOKED
    if web.expires_at <= now:
        return EXPIRED
    if now - web.last_seen_at > idle_limit:
        return IDLE
    return None


def needs_touch(web: WebSession) -> bool:
    return utcnow() - web.last_seen_at >= TOUCH_INTERVAL


def touch(session: Session, web_id: str) -> None:
    """Record activity, which keeps the session from idling out."""
    session.execute(update(WebSession).filter_by(id=web_id).values(last_seen_at=utcnow()))


def revoke(session: Session, web_id: str) -> None:
    session.execute(
        update(WebSession).filter_by(id=web_id, revoked_at=None).values(revoked_at=utcnow())
    )


def revoke_all(session: Session, user_id: str) -> None:
    """End every browser session of a user (deactivated, or given a new password)."""
    session.execute(
        update(WebSession).filter_by(user_id=user_id, revoked_at=None).values(revoked_at=utcnow())
    )
