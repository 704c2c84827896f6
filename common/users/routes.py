"""The users API (`/api/users`) of both apps: thin over `common.users.service`. Vehicle
assignments are head-office data: their routes (`assignments`) are the hub's alone."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from common.users import service
from common.users.schemas import (
    Assignment,
    PasswordResetOut,
    UserCreate,
    UserOut,
    UserQuery,
    UserUpdate,
)

bp = Blueprint("users", __name__)
assignments = Blueprint("user_vehicles", __name__)

_out = UserOut()


@bp.get("/api/users")
@endpoint("users:read", query=UserQuery, response=UserOut, many=True)
def list_users(query: dict[str, Any]) -> Any:
    """Users this node manages (on a vehicle: its crew and its own emergency accounts)."""
    page, per_page = query.pop("page"), query.pop("per_page")
    users, total = service.list_users(db.session, service.UserFilter(**query), page, per_page)
    return paginated(_out.dump(users, many=True), page, per_page, total)


@bp.post("/api/users")
@endpoint("users:manage", body=UserCreate, response=UserOut, status=201)
def create_user(body: dict[str, Any]) -> Any:
    """Create a user (on a vehicle: an emergency account that signs in on this laptop only)."""
    return created(_out.dump(service.add_user(db.session, current_actor(), body)), "User created")


@bp.get("/api/users/<user_id>")
@endpoint("users:read", response=UserOut)
def get_user(user_id: str) -> Any:
    """One user."""
    return ok(_out.dump(service.get_user(db.session, user_id)))


@bp.put("/api/users/<user_id>")
@endpoint("users:manage", body=UserUpdate, response=UserOut)
def update_user(user_id: str, body: dict[str, Any]) -> Any:
    """Change a user's name, email, role, password or active flag."""
    user = service.update_user(db.session, current_actor(), user_id, body)
    return ok(_out.dump(user), "User updated")


@bp.post("/api/users/<user_id>/deactivate")
@endpoint("users:manage", response=UserOut)
def deactivate_user(user_id: str) -> Any:
    """Stop a user logging in; their sessions and tokens stop working at once."""
    user = service.deactivate_user(db.session, current_actor(), user_id)
    return ok(_out.dump(user), "User deactivated")


@bp.post("/api/users/<user_id>/reset-password")
@endpoint("users:manage", response=PasswordResetOut)
def reset_password(user_id: str) -> Any:
    """Give a user a temporary password, shown once, that must be changed at next login."""
    user, temporary = service.reset_password(db.session, current_actor(), user_id)
    data = PasswordResetOut().dump({"user": user, "temporary_password": temporary})
    return ok(data, "Password reset: give the user this temporary password")


@assignments.post("/api/users/<user_id>/vehicles")
@endpoint("users:manage", body=Assignment, response=UserOut)
def assign_vehicle(user_id: str, body: dict[str, Any]) -> Any:
    """Assign a user to a vehicle, so they can log in there."""
    user = service.add_assignment(db.session, current_actor(), user_id, body["vehicle_id"])
    return ok(_out.dump(user), "Vehicle assigned")


@assignments.delete("/api/users/<user_id>/vehicles/<vehicle_id>")
@endpoint("users:manage", response=UserOut)
def unassign_vehicle(user_id: str, vehicle_id: str) -> Any:
    """Take a user off a vehicle."""
    user = service.remove_assignment(db.session, current_actor(), user_id, vehicle_id)
    return ok(_out.dump(user), "Vehicle unassigned")
