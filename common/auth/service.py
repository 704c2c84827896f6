"""Logging in and out: credentials, lockout, the vehicle rule and the second factor.

A failed attempt is recorded (audit record and failed-attempt count) in a transaction of
its own, so the failing request's rollback does not erase it. An unknown user and a wrong
password cost the same work and get the same answer; the lockout (`common.auth.lockout`:
per account and client address, with a wait that doubles) counts attempts on unknown
names alike, so it does not reveal which accounts exist either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import pyotp
from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.audit import Entry, Who
from common.auth import sessions, standing, tokens
from common.auth.lockout import FORGET_AFTER, Lockout, address_key, forgotten
from common.database import locked_row, transaction_apart
from common.errors import APIError, BadRequest, Forbidden, Unauthorized
from common.node import this_node
from common.password import hash_password, needs_rehash, password_problem, verify_password
from common.permission import granted
from common.users import find_by_username, is_assigned
from common.users.service import NOT_ENROLLED, get_user
from schema.base import utcnow
from schema.models import LoginState, SyncNode, User

WRONG_CREDENTIALS = "Wrong username or password"
TOTP_REQUIRED = "Enter the 6-digit code from your authenticator app"
WRONG_TOTP = "Wrong authenticator code"
DEACTIVATED = "This account is deactivated; ask an administrator"
NOT_ASSIGNED = "You are not assigned to this vehicle; ask head office to assign you"
NOT_ENROLLED_LOGIN = f"{NOT_ENROLLED}: nobody can log in on it until it is enrolled"
LAPTOP_ACCOUNT = "This is an emergency account of a vehicle's laptop: it signs in only there"
PASSWORD_CHANGE_REQUIRED = "Change your temporary password first, on the /password page"  # noqa: S105  # nosec B105 - a message, not a password

TOTP_SECRET = re.compile(r"^[A-Z2-7]{32}$")
_UNKNOWN_USERS = uuid.UUID("6f1d3c8e-2b7a-4c0e-9a55-0d1e2f3a4b5c")

StateKey = tuple[str, str]  # (account, client address): `login_state`'s primary key


@dataclass(frozen=True)
class Attempt:
    username: str
    password: str
    totp: str | None = None


def login(session: Session, attempt: Attempt, lockout: Lockout, client: Who) -> User:
    """The user these credentials belong to, allowed to log in on this node, with the
    login recorded in the open transaction; otherwise a recorded, typed failure."""
    user = find_by_username(session, attempt.username)
    key = _state_key(user, attempt.username, client)
    who = _who(client, user)
    checked_hash = user.password_hash if user else None
    locked_until = _locked_until(session, key)
    if locked_until is not None:
        _password_matches(session, None, attempt.password)  # the same work as any attempt
        _refuse(session, who, "login_locked", Forbidden(_locked_message(locked_until)))
    matches = _password_matches(session, checked_hash, attempt.password)
    rehashed = _rehashed(checked_hash, attempt.password) if matches else None
    # A new transaction from here on: what the check relied on may have changed meanwhile.
    locked_until = _locked_until(session, key)
    if locked_until is not None:
        _refuse(session, who, "login_locked", Forbidden(_locked_message(locked_until)))
    if user is not None:
        matches = _still_matches(session, user, checked_hash, attempt.password, matches)
    if not matches or not user:
        _fail(session, who, key, lockout, WRONG_CREDENTIALS, "password")
    if user.totp_secret:
        _check_totp(session, who, key, lockout, user.totp_secret, attempt.totp)
    refusal = refusal_for(session, user)
    if refusal is not None:
        _refuse(session, who, "login_refused", Forbidden(refusal))
    _succeed(session, who, key, user, rehashed if user.password_hash == checked_hash else None)
    return user


def api_login(session: Session, attempt: Attempt, lockout: Lockout, client: Who) -> User:
    user = login(session, attempt, lockout, client)
    session.commit()
    return user


@dataclass(frozen=True)
class BrowserLogin:
    """How a browser session is made: its longest life and the app's secret key, which
    keys the standing it is issued at (`common.auth.standing`)."""

    max_age: dt.timedelta
    secret: str


def browser_login(
    session: Session, attempt: Attempt, lockout: Lockout, client: Who, browser: BrowserLogin
) -> str:
    """Log in from the login page: the raw id of a new browser session, for its cookie."""
    user = login(session, attempt, lockout, client)
    raw_id = _start_session(session, user, browser)
    session.commit()
    return raw_id


def _start_session(session: Session, user: User, browser: BrowserLogin) -> str:
    stamp = standing.stamp(browser.secret, user)
    raw_id, _web = sessions.start(session, user.id, browser.max_age, stamp)
    return raw_id


def logout(
    session: Session, actor: Actor | None, refresh: dict[str, Any] | None, client: Who
) -> None:
    """End what the request presented: its browser session, or the whole family of its
    access token (the refresh token issued with it at login, and every access token
    refreshed from that), and the family of the refresh token it handed over."""
    if actor is not None and actor.token_family:
        tokens.revoke_family(session, actor.token_family, actor.user_id)
    if actor is not None and actor.session_id:
        sessions.revoke(session, actor.session_id)
    if refresh is not None:
        tokens.revoke_family(session, refresh[tokens.FAMILY], refresh["sub"])
    if actor is not None:
        audit.record(session, actor, "logout")
    elif refresh is not None:
        audit.record(session, dataclasses.replace(client, user_id=refresh["sub"]), "logout")
    session.commit()


def refresh(session: Session, claims: dict[str, Any], client: Who, secret: str) -> User:
    """The user of a valid refresh token, if they may still work here and still stand
    as they did when it was issued (no new password, role or deactivation since)."""
    user = session.get(User, claims["sub"])
    if user is None:
        _refuse(session, client, "token_refresh", Unauthorized("The token is not valid"))
    refusal = refusal_for(session, user)
    if refusal is not None:
        _refuse(session, _who(client, user), "token_refresh", Unauthorized(refusal))
    if not tokens.stands(secret, claims, user):
        _refuse(session, _who(client, user), "token_refresh", Unauthorized(tokens.ENDED))
    audit.record(session, _who(client, user), "token_refresh")
    session.commit()
    return user


def refusal_for(session: Session, user: User) -> str | None:
    """Why this user may not work on this node now, or None: deactivated, or (on a
    vehicle) the laptop is not enrolled or the user is not assigned to its vehicle."""
    return refusal(user, this_node(session), lambda vehicle: is_assigned(session, user.id, vehicle))


def refusal(user: User, node: SyncNode | None, assigned_to: Callable[[str], bool]) -> str | None:
    """`refusal_for` on what the caller has read: the node, and whether the user is
    assigned to a vehicle (asked only on an enrolled laptop). An account made on a
    laptop (an emergency account) signs in there without an assignment, and nowhere
    else: never at head office, whatever a laptop sent it."""
    if not user.active:
        return DEACTIVATED
    if node is None or node.kind != "edge":
        return LAPTOP_ACCOUNT if node is not None and user.origin_node != node.id else None
    if node.vehicle_id is None:
        return NOT_ENROLLED_LOGIN
    if user.origin_node == node.id:
        return None
    if not assigned_to(node.vehicle_id):
        return NOT_ASSIGNED
    return None


def me(session: Session, actor: Actor) -> dict[str, Any]:
    """Who the actor is, what they may do, and how they are authenticated."""
    return {
        "user": get_user(session, actor.user_id),
        "permissions": sorted(granted(actor.role)),
        "vehicle_id": actor.vehicle_id,
        "authenticated_by": "session" if actor.session_id else "token",
        "token_expires_at": actor.token_expires_at,
    }


def change_password(session: Session, actor: Actor, current: str, new: str) -> User:
    """Replace the actor's password (ending a temporary one) after checking the current.
    Both Argon2 steps run between transactions, as at login (`_password_matches`). Every
    token and browser session of the user ends with it, the caller's too (the user's
    standing changed): the caller hands the client new tokens or a new session
    (`renew_browser_session`)."""
    user = _acting_user(session, actor)
    checked_hash = user.password_hash
    wrong = BadRequest("Invalid input", details={"current_password": ["Wrong password"]})
    if not _password_matches(session, checked_hash, current):
        raise wrong
    problem = password_problem(new) or (
        "The new password must differ from the current one" if new == current else None
    )
    if problem:
        raise BadRequest("Invalid input", details={"new_password": [problem]})
    new_hash = hash_password(new)  # between transactions too, for the same reason
    if not _still_matches(session, user, checked_hash, current, True):  # reset meanwhile?
        raise wrong
    user.password_hash = new_hash
    user.must_change_password = False
    sessions.revoke_all(session, user.id)
    audit.record(session, actor, "password_changed", resource_type="user", resource_id=user.id)
    session.commit()
    return user


def renew_browser_session(session: Session, user: User, browser: BrowserLogin) -> str:
    """A new browser session for the one that has just changed its password (the old
    one ended with every other): the raw id for its cookie."""
    raw_id = _start_session(session, user, browser)
    session.commit()
    return raw_id


def totp_setup(actor: Actor, issuer: str) -> dict[str, str]:
    """A new secret to scan into an authenticator app; it takes effect once enabled."""
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=actor.username, issuer_name=issuer)
    return {"secret": secret, "provisioning_uri": uri}


def totp_enable(session: Session, actor: Actor, secret: str, code: str) -> None:
    """Require a code at every login from now on, once the app shows it has the secret."""
    if not TOTP_SECRET.match(secret):
        raise BadRequest("Invalid input", details={"secret": ["Not a secret from totp/setup"]})
    _require_code(secret, code)
    _acting_user(session, actor).totp_secret = secret
    audit.record(session, actor, "totp_enabled", resource_type="user", resource_id=actor.user_id)
    session.commit()


def totp_disable(session: Session, actor: Actor, code: str) -> None:
    user = _acting_user(session, actor)
    if not user.totp_secret:
        raise BadRequest("The authenticator app is not enabled for this account")
    _require_code(user.totp_secret, code)
    user.totp_secret = None
    audit.record(session, actor, "totp_disabled", resource_type="user", resource_id=actor.user_id)
    session.commit()


def _check_totp(
    session: Session, who: Who, key: StateKey, lockout: Lockout, secret: str, code: str | None
) -> None:
    if not code:
        raise Unauthorized(TOTP_REQUIRED, details={"totp": ["required"]})
    if not pyotp.TOTP(secret).verify(code, valid_window=1):
        _fail(session, who, key, lockout, WRONG_TOTP, "totp")


def _require_code(secret: str, code: str) -> None:
    if not pyotp.TOTP(secret).verify(code, valid_window=1):
        raise BadRequest(WRONG_TOTP, details={"code": ["Does not match"]})


def _locked_until(session: Session, key: StateKey) -> dt.datetime | None:
    state = session.get(LoginState, key, populate_existing=True)
    if state is not None and state.locked_until is not None and state.locked_until > utcnow():
        return state.locked_until
    return None


def _password_matches(session: Session, password_hash: str | None, password: str) -> bool:
    """Check a password between transactions. The check costs some 100 ms on purpose
    (Argon2), and a login's transaction is a write one: on the edge it would hold the
    single write lock meanwhile, and every tablet's writes and audited reads would wait
    for it. So the open transaction ends first: at login it has only read; in a password
    change it holds at most the browser session's activity, which stands either way."""
    session.commit()
    return verify_password(password_hash, password)


def _still_matches(
    session: Session, user: User, checked_hash: str | None, password: str, matched: bool
) -> bool:
    """Whether the password matches the user's hash as it is now, in the new transaction:
    the check's answer, unless the password was changed meanwhile (rare), in which case
    the new hash is checked, inside the transaction."""
    session.refresh(user)
    if user.password_hash == checked_hash:
        return matched
    return verify_password(user.password_hash, password)


def _rehashed(password_hash: str | None, password: str) -> str | None:
    """The password hashed anew when its hash was made with older Argon2 parameters, or
    None. Called between transactions, like the check: after an upgrade each user's next
    login does it once, in the middle of a clinic's day."""
    if password_hash is None or not needs_rehash(password_hash):
        return None
    return hash_password(password)


def _succeed(session: Session, who: Who, key: StateKey, user: User, new_hash: str | None) -> None:
    """Record the login, forgetting this address's failures on the account (other
    addresses keep theirs); `new_hash` replaces the password's hash made with older
    parameters (None when it is current, or was changed during the check)."""
    account, address = key
    session.execute(
        delete(LoginState).where(LoginState.user_id == account, LoginState.client_addr == address)
    )
    if new_hash is not None:
        user.password_hash = new_hash
    audit.record(session, who, "login")


def _fail(
    session: Session, who: Who, key: StateKey, lockout: Lockout, message: str, reason: str
) -> NoReturn:
    """Count a failed attempt from this address (holding the address back from the
    account at the threshold, twice as long at each failure after) and refuse."""
    with transaction_apart(session, discard_open=True):
        now = utcnow()
        _forget_quiet_counts(session, now)
        account, address = key
        state = locked_row(
            session, LoginState, key, lambda: LoginState(user_id=account, client_addr=address)
        )
        if forgotten(state.last_failed_at, state.locked_until, now):
            state.failed_count = 0
        state.failed_count = (state.failed_count or 0) + 1
        state.last_failed_at = now
        until = lockout.until(state.failed_count, now)
        audit.append(session, who, Entry("login_failed", audit.FAILURE, detail={"reason": reason}))
        if until is not None:
            state.locked_until = until
            minutes = round((until - now).total_seconds() / 60)
            detail = {"minutes": minutes, "failures": state.failed_count}
            audit.append(session, who, Entry("lockout", audit.FAILURE, detail=detail))
    if until is not None:
        raise Forbidden(_locked_message(until))
    raise Unauthorized(message)


def _forget_quiet_counts(session: Session, now: dt.datetime) -> None:
    """Drop the counts that would start afresh anyway (`lockout.forgotten`), so guesses
    spread over many names and addresses do not pile up rows."""
    quiet = now - FORGET_AFTER
    session.execute(
        delete(LoginState).where(
            LoginState.last_failed_at <= quiet,
            or_(LoginState.locked_until.is_(None), LoginState.locked_until <= quiet),
        )
    )


def _refuse(session: Session, who: Who, action: str, error: APIError) -> NoReturn:
    audit.record_apart(session, who, action, outcome=audit.DENIED, detail={"reason": error.message})
    raise error


def _locked_message(until: dt.datetime | None) -> str:
    left = (until - utcnow()) if until else dt.timedelta()
    minutes = max(1, -(-int(left.total_seconds()) // 60))
    return f"Too many failed logins from this address. Try again in {_duration(minutes)}."


def _duration(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{-(-minutes // 60)} hours"


def _state_key(user: User | None, username: str, client: Who) -> StateKey:
    """Known users are counted by id, unknown names by a stable id made from the name;
    each from the client's address (`lockout.address_key`)."""
    account = (
        user.id if user is not None else str(uuid.uuid5(_UNKNOWN_USERS, username.strip().lower()))
    )
    return account, address_key(client.client_addr)


def _who(client: Who, user: User | None) -> Who:
    """The client, and the user once known (attempted unknown names are not kept: people
    sometimes type their password into the username field)."""
    if user is None:
        return client
    return dataclasses.replace(client, user_id=user.id, username=user.username, role=user.role)


def _acting_user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id)
    if user is None:
        raise Unauthorized("Authentication required")
    return user
