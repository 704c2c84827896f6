"""The roles and what each may do: one matrix for edge and hub (seed 003's table, with
head office's roles of least privilege).

Permissions are `<resource>:<action>` strings. Routes declare the permission they need;
the visit workflow additionally checks which role may act at each stage. Each head-office
role holds exactly its job's permissions: one permission never covers the jobs of two
roles (the formulary and the tariffs are written by different people, so each has its
own `:write`). Which roles see the whole fleet and which only their vehicles is declared
here too (`fleet_wide`); the hub applies it in `hub.scope`.
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
    FLEET_PLANNER = "fleet_planner"
    STOCK_CONTROLLER = "stock_controller"
    CLAIMS_CLERK = "claims_clerk"
    TECHNICIAN = "technician"


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
        "locations:write",  # locations and the provinces they lie in
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
        "devices:manage",  # revoke and enable devices, issue enrollment tokens
        "vehicles:read",
        "vehicles:write",
        "reference:read",  # formulary, tariffs, provinces, locations
        "formulary:write",
        "tariffs:write",
        "sync:read",
        "sync:run",
        "sync:resolve",
        "system:read",
        "profile:read",
    }
)

_CREW_COMMON = {"profile:read", "dashboard:read", "alerts:read", "alerts:write"}
_OFFICE_COMMON = {"profile:read", "dashboard:read"}

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
    # Head office's roles of least privilege: each holds its job and nothing more.
    Role.FLEET_PLANNER: frozenset(
        _OFFICE_COMMON
        | {
            "routes:read",
            "routes:write",
            "reference:read",
            "locations:write",
            "vehicles:read",
            "vehicles:write",
        }
    ),
    Role.STOCK_CONTROLLER: frozenset(
        _OFFICE_COMMON
        | {
            "reference:read",
            "formulary:write",
            "supply:read",
            "supply:approve",
            "inventory:read",
            "alerts:read",  # stock alerts only: see ALERT_KINDS
            "alerts:write",
        }
    ),
    Role.CLAIMS_CLERK: frozenset(
        _OFFICE_COMMON
        | {
            "claims:read",
            "claims:write",
            "claims:submit",  # a PALMED run also brings back member statuses
            "reference:read",
            "tariffs:write",
        }
    ),
    Role.TECHNICIAN: frozenset(
        _OFFICE_COMMON
        | {
            "devices:read",
            "devices:manage",
            "vehicles:read",  # which vehicle a laptop is enrolled for
            "sync:read",
            "system:read",
        }
    ),
}

FLEET_WIDE: frozenset[Role] = frozenset(
    {
        Role.ADMINISTRATOR,
        Role.FLEET_PLANNER,
        Role.STOCK_CONTROLLER,
        Role.CLAIMS_CLERK,
        Role.TECHNICIAN,
        Role.FINANCE,
    }
)
"""Roles that see every vehicle at the hub. A head-office role works across the fleet
(plans every vehicle's routes, supplies and pays for all of them); a crew role and the
read-only viewer see only the vehicles they are assigned to (`user_vehicle`), so a
nurse's token shows nothing of another vehicle's patients, visits or alerts."""

VEHICLE_SCOPED: frozenset[Role] = frozenset(Role) - FLEET_WIDE

ALERT_KINDS: dict[Role, frozenset[str]] = {
    Role.STOCK_CONTROLLER: frozenset({"low_stock", "stock_expiry"}),
}
"""The kinds of alert a role handles, for a role that handles only some (absent: every
kind): a stock controller acts on stock alerts, not on a patient's critical vitals."""

if set(_GRANTS) != set(Role):
    raise RuntimeError(f"roles without grants: {sorted(set(Role) - set(_GRANTS))}")
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


def fleet_wide(role: str) -> bool:
    """Whether `role` sees every vehicle; unknown roles see none."""
    return is_role(role) and Role(role) in FLEET_WIDE


def alert_kinds(role: str) -> frozenset[str] | None:
    """The kinds of alert `role` may see and handle (None: every kind)."""
    return ALERT_KINDS.get(Role(role)) if is_role(role) else frozenset()


def require_known(permission: str) -> str:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    return permission
