"""The eight roles and what each may do: one matrix for edge and hub (seed 003's table).

Permissions are `<resource>:<action>` strings. Routes declare the permission they need;
the visit workflow additionally checks which role may act at each stage.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMINISTRATOR = "administrator"
    DOCTOR = "doctor"
    NURSE = "nurse"
    CLERK = "clerk"
    SOCIAL_WORKER = "social_worker"
    INVENTORY_MANAGER = "inventory_manager"
    FINANCE = "finance"
    VIEWER = "viewer"


PERMISSIONS: frozenset[str] = frozenset(
    {
        "patients:read",
        "patients:write",
        "patients:merge",
        "visits:read",
        "visits:write",
        "visits:reopen",
        "vitals:read",
        "vitals:write",
        "clinical_notes:read",
        "clinical_notes:write",
        "diagnoses:write",
        "prescriptions:write",
        "prescriptions:dispense",
        "referrals:read",
        "referrals:write",
        "appointments:read",
        "appointments:write",
        "routes:read",
        "routes:write",
        "locations:write",
        "inventory:read",
        "inventory:write",
        "assets:read",
        "assets:write",
        "supply:read",
        "supply:write",
        "supply:approve",
        "claims:read",
        "claims:write",
        "claims:submit",
        "reports:read",
        "dashboard:read",
        "alerts:read",
        "alerts:write",
        "users:read",
        "users:manage",
        "audit:read",
        "devices:read",
        "devices:manage",
        "reference:read",
        "reference:write",
        "sync:read",
        "sync:run",
        "sync:resolve",
        "system:read",
        "profile:read",
    }
)

_CREW_COMMON = {"profile:read", "dashboard:read", "alerts:read", "alerts:write"}

_GRANTS: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: PERMISSIONS,
    Role.DOCTOR: frozenset(
        _CREW_COMMON
        | {
            "patients:read",
            "patients:write",
            "visits:read",
            "visits:write",
            "vitals:read",
            "clinical_notes:read",
            "clinical_notes:write",
            "diagnoses:write",
            "prescriptions:write",
            "prescriptions:dispense",
            "referrals:read",
            "referrals:write",
            "appointments:read",
            "routes:read",
            "inventory:read",
            "reference:read",
        }
    ),
    Role.NURSE: frozenset(
        _CREW_COMMON
        | {
            "patients:read",
            "patients:write",
            "visits:read",
            "visits:write",
            "vitals:read",
            "vitals:write",
            "clinical_notes:read",
            "clinical_notes:write",
            "prescriptions:dispense",
            "referrals:read",
            "appointments:read",
            "routes:read",
            "inventory:read",
            "reference:read",
        }
    ),
    Role.CLERK: frozenset(
        _CREW_COMMON
        | {
            "patients:read",
            "patients:write",
            "visits:read",
            "visits:write",
            "appointments:read",
            "appointments:write",
            "routes:read",
            "locations:write",
            "reference:read",
        }
    ),
    Role.SOCIAL_WORKER: frozenset(
        _CREW_COMMON
        | {
            "patients:read",
            "visits:read",
            "visits:write",
            "clinical_notes:read",
            "clinical_notes:write",
            "referrals:read",
            "referrals:write",
            "appointments:read",
            "reference:read",
        }
    ),
    Role.INVENTORY_MANAGER: frozenset(
        _CREW_COMMON
        | {
            "inventory:read",
            "inventory:write",
            "assets:read",
            "assets:write",
            "supply:read",
            "supply:write",
            "routes:read",
            "reference:read",
        }
    ),
    Role.FINANCE: frozenset(
        {
            "profile:read",
            "dashboard:read",
            "claims:read",
            "claims:write",
            "claims:submit",
            "reports:read",
            "reference:read",
        }
    ),
    # Read-only access to all data; security records (audit, accounts, devices) excepted.
    Role.VIEWER: frozenset(
        {"profile:read"}
        | {
            p
            for p in PERMISSIONS
            if p.endswith(":read") and p not in {"audit:read", "users:read", "system:read"}
        }
    ),
}

for _role, _granted in _GRANTS.items():
    _unknown = _granted - PERMISSIONS
    if _unknown:
        raise RuntimeError(f"{_role} is granted unknown permissions: {sorted(_unknown)}")


def is_role(name: str) -> bool:
    return name in Role._value2member_map_


def permits(role: str, permission: str) -> bool:
    """Whether `role` may do `permission`; unknown roles may do nothing."""
    if not is_role(role):
        return False
    return permission in _GRANTS[Role(role)]


def granted(role: str) -> frozenset[str]:
    return _GRANTS[Role(role)] if is_role(role) else frozenset()


def require_known(permission: str) -> str:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission
