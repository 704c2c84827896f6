"""Staff accounts: creating, finding, editing, deactivating and assigning them to vehicles.

Shared by the CLIs and both apps' user APIs. Accounts and their vehicles are head-office
data: at the hub every user and vehicle is in reach. On a vehicle's laptop the API sees
the users assigned to its vehicle and the **emergency accounts** made on that laptop
(`clinic-edge create-admin`, or a local administrator in an emergency): such an account
signs in only on the laptop that made it, never at head office, and needs no assignment
(`common.auth.service.refusal`). The hub accepts it by sync only as that (`sync.rules`),
shows it to head office, and may deactivate it. Head-office accounts and assignments
are changed only at head office; a laptop's edits of them would be refused by the hub.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.auth import sessions
from common.errors import BadRequest, Conflict, Forbidden, NotFound
from common.node import HUB_NODE_ID, this_node
from common.password import hash_password, password_problem
from common.permission import is_role
from schema.base import utcnow
from schema.models import User, UserVehicle, Vehicle

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
NOT_ENROLLED = "This laptop is not enrolled to a vehicle yet"
ONLY_THIS_VEHICLE = "On a vehicle, users can only be assigned to this vehicle"
HEAD_OFFICE_ACCOUNT = "This account is managed at head office: change it there"
ASSIGNED_AT_HEAD_OFFICE = "Vehicle assignments are made at head office"
EMERGENCY_STAYS = "An emergency account stays on the laptop it was made on"


def is_emergency(user: User) -> bool:
    """An account made on a vehicle's laptop rather than at head office."""
    return user.origin_node != HUB_NODE_ID


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    email: str | None = None,
    vehicle_ids: Iterable[str] = (),
    must_change_password: bool = False,
) -> User:
    """A new active account, assigned to the given vehicles. Raises on bad input or a clash."""
    username = username.strip().lower()
    _check_new_user(session, username, role, password, email)
    user = User(
        username=username,
        full_name=full_name.strip(),
        role=role,
        email=_email(email),
        password_hash=hash_password(password),
        active=True,
        must_change_password=must_change_password,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    for vehicle_id in vehicle_ids:
        assign_vehicle(session, user, vehicle_id)
    return user


def assign_vehicle(session: Session, user: User, vehicle_id: str) -> UserVehicle:
    if session.get(Vehicle, vehicle_id) is None:
        raise NotFound(f"Vehicle {vehicle_id} does not exist")
    existing = session.scalar(select(UserVehicle).filter_by(user_id=user.id, vehicle_id=vehicle_id))
    if existing is not None:
        return existing
    link = UserVehicle(user_id=user.id, vehicle_id=vehicle_id)
    session.add(link)
    session.flush()
    return link


def find_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def is_assigned(session: Session, user_id: str, vehicle_id: str) -> bool:
    """Whether the user may work on (and log in to) this vehicle."""
    link = select(UserVehicle.id).filter_by(user_id=user_id, vehicle_id=vehicle_id)
    return session.scalar(link) is not None


@dataclass(frozen=True)
class UserFilter:
    q: str | None = None
    role: str | None = None
    active: bool | None = None


def list_users(
    session: Session, wanted: UserFilter, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the users this node manages, by name, and how many there are in all."""
    query = _filtered(_visible(session), wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = session.scalars(
        query.order_by(User.username).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return views(session, users), total


def get_user(session: Session, user_id: str) -> dict[str, Any]:
    return views(session, [_find(session, user_id)])[0]


def add_user(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """Create an account from the users API; on a laptop, an emergency account of this
    laptop (no assignment: it signs in here only, and head office sees it)."""
    vehicles = list(data.get("vehicle_ids") or [])
    vehicle = _edge_vehicle(session)
    if vehicle is not None:
        if any(v != vehicle for v in vehicles):
            raise Forbidden(ONLY_THIS_VEHICLE)
        vehicles = []
    fields = {k: v for k, v in data.items() if k != "vehicle_ids"}
    user = create_user(session, **fields, vehicle_ids=vehicles)
    return _saved(session, actor, "user_created", user.id, None)


def update_user(
    session: Session, actor: Actor, user_id: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a user's name, email, role, password or active flag; effective at once."""
    user = _editable(session, user_id)
    _refuse_self_lockout(actor, user, changes)
    if "email" in changes:
        _check_email(session, changes["email"], user.id)
        user.email = _email(changes["email"])
    if "password" in changes:
        _check_password(changes["password"])
        user.password_hash = hash_password(changes["password"])
        sessions.revoke_all(session, user.id)
    for name in ("full_name", "role", "active"):
        if name in changes:
            setattr(user, name, changes[name])
    if changes.get("active") is False:
        sessions.revoke_all(session, user.id)
    return _saved(session, actor, "user_updated", user.id, {"changed": sorted(changes)})


def deactivate_user(session: Session, actor: Actor, user_id: str) -> dict[str, Any]:
    """Stop a user from logging in anywhere; their sessions and tokens stop working at once."""
    return update_user(session, actor, user_id, {"active": False})


def reset_password(session: Session, actor: Actor, user_id: str) -> tuple[dict[str, Any], str]:
    """Give a user a temporary password (shown once) that must be changed at next use;
    their sessions end at once."""
    user = _editable(session, user_id)
    if user.id == actor.user_id:
        raise Conflict("Change your own password with your current one, not a reset")
    temporary = temporary_password()
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    sessions.revoke_all(session, user.id)
    return _saved(session, actor, "password_reset", user.id, None), temporary


def temporary_password() -> str:
    """A random password that passes the password rules, for resets and invites."""
    return "Tmp-" + secrets.token_urlsafe(12) + "-9"


def add_assignment(session: Session, actor: Actor, user_id: str, vehicle_id: str) -> dict[str, Any]:
    """Head office assigns a user to a vehicle (never an emergency account)."""
    _check_assignments_here(session)
    user = _find(session, user_id)
    _check_assignable(user)
    assign_vehicle(session, user, vehicle_id)
    return _saved(session, actor, "user_vehicle_assigned", user.id, {"vehicle_id": vehicle_id})


def remove_assignment(
    session: Session, actor: Actor, user_id: str, vehicle_id: str
) -> dict[str, Any]:
    _check_assignments_here(session)
    user = _find(session, user_id)
    _check_assignable(user)
    if user.id == actor.user_id and vehicle_id == actor.vehicle_id:
        raise Conflict("You cannot remove yourself from the vehicle you are working on")
    link = session.scalar(select(UserVehicle).filter_by(user_id=user.id, vehicle_id=vehicle_id))
    if link is not None:
        session.delete(link)  # through the ORM, like every write of a synced row
        session.flush()
    return _saved(session, actor, "user_vehicle_unassigned", user.id, {"vehicle_id": vehicle_id})


def _saved(
    session: Session, actor: Actor, action: str, user_id: str, detail: dict[str, Any] | None
) -> dict[str, Any]:
    """Audit a change to a user, commit it with the change, and show the user as it is now."""
    audit.record(session, actor, action, resource_type="user", resource_id=user_id, detail=detail)
    session.commit()
    return views(session, [session.get_one(User, user_id)])[0]  # even if now off this vehicle


def views(session: Session, users: Iterable[User]) -> list[dict[str, Any]]:
    """Users as the API shows them, with their vehicles (one query for the whole page)."""
    users = list(users)
    links = session.execute(
        select(UserVehicle.user_id, UserVehicle.vehicle_id)
        .where(UserVehicle.user_id.in_([u.id for u in users]))
        .order_by(UserVehicle.vehicle_id)
    ).all()
    vehicles: dict[str, list[str]] = {}
    for user_id, vehicle_id in links:
        vehicles.setdefault(user_id, []).append(vehicle_id)
    return [_view(user, vehicles.get(user.id, [])) for user in users]


def _view(user: User, vehicle_ids: list[str]) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "active": user.active,
        "must_change_password": user.must_change_password,
        "totp_enabled": user.totp_secret is not None,
        "created_at": user.created_at,
        "vehicle_ids": vehicle_ids,
        "emergency": is_emergency(user),
        "made_on": user.origin_node if is_emergency(user) else None,
    }


def _visible(session: Session) -> Select[User]:
    """The users this node manages: all at the hub; on a laptop, its vehicle's crew and
    the emergency accounts made on it."""
    query = select(User)
    vehicle = _edge_vehicle(session)
    if vehicle is not None:
        assigned = select(UserVehicle.user_id).where(UserVehicle.vehicle_id == vehicle)
        here = this_node(session).id  # type: ignore[union-attr]
        query = query.where(or_(User.id.in_(assigned), User.origin_node == here))
    return query


def _filtered(query: Select[User], wanted: UserFilter) -> Select[User]:
    if wanted.q:
        text = wanted.q.lower()
        query = query.where(
            or_(
                User.username.contains(text, autoescape=True),
                func.lower(User.full_name).contains(text, autoescape=True),
            )
        )
    if wanted.role:
        query = query.where(User.role == wanted.role)
    if wanted.active is not None:
        query = query.where(User.active == wanted.active)
    return query


def _find(session: Session, user_id: str) -> User:
    user = session.scalar(_visible(session).where(User.id == user_id))
    if user is None:
        raise NotFound("No such user")
    return user


def _editable(session: Session, user_id: str) -> User:
    """A user this node may change: any at the hub; on a laptop, its emergency accounts
    only (head office's accounts change at head office, which the hub would insist on)."""
    user = _find(session, user_id)
    node = this_node(session)
    if node is not None and node.kind == "edge" and user.origin_node != node.id:
        raise Forbidden(HEAD_OFFICE_ACCOUNT)
    return user


def _edge_vehicle(session: Session) -> str | None:
    """The vehicle an edge node serves; None at the hub, which reaches every vehicle."""
    node = this_node(session)
    if node is None or node.kind != "edge":
        return None
    if node.vehicle_id is None:
        raise Conflict(NOT_ENROLLED)
    return node.vehicle_id


def _check_assignments_here(session: Session) -> None:
    """Assignments are head-office data: made at the hub, never on a laptop."""
    if _edge_vehicle(session) is not None:
        raise Forbidden(ASSIGNED_AT_HEAD_OFFICE)


def _check_assignable(user: User) -> None:
    if is_emergency(user):
        raise Conflict(EMERGENCY_STAYS)


def _refuse_self_lockout(actor: Actor, user: User, changes: Mapping[str, Any]) -> None:
    if user.id != actor.user_id:
        return
    if changes.get("active") is False:
        raise Conflict("You cannot deactivate your own account")
    if "role" in changes and changes["role"] != user.role:
        raise Conflict("You cannot change your own role")


def _check_new_user(
    session: Session, username: str, role: str, password: str, email: str | None
) -> None:
    errors: dict[str, list[str]] = {}
    if not USERNAME.match(username):
        errors["username"] = ["3-64 characters: lowercase letters, digits, dot, dash, underscore"]
    if not is_role(role):
        errors["role"] = [f"Unknown role {role!r}"]
    problem = password_problem(password)
    if problem:
        errors["password"] = [problem]
    if errors:
        raise BadRequest("Invalid user", details=errors)
    if find_by_username(session, username) is not None:
        raise Conflict(f"A user named {username!r} already exists")
    _check_email(session, email, None)


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise BadRequest("Invalid user", details={"password": [problem]})


def _check_email(session: Session, email: str | None, user_id: str | None) -> None:
    if not email:
        return
    clash = select(func.count()).select_from(User).where(User.email == _email(email))
    if user_id is not None:
        clash = clash.where(User.id != user_id)
    if session.scalar(clash):
        raise Conflict("Another user already has this email address")


def _email(email: str | None) -> str | None:
    return email.strip().lower() if email else None
