"""Staff accounts and the users API, shared by edge and hub."""

from common.users.service import assign_vehicle, create_user, find_by_username, is_assigned

__all__ = ["assign_vehicle", "create_user", "find_by_username", "is_assigned"]
