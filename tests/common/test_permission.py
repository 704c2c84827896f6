"""The permission matrix, written out by hand from each role's job and compared with
`common.permission` cell by cell: a grant added or taken away in the code, a new
permission or a new role fails here until this table says the same.

Columns: administrator, doctor, nurse, clerk, social worker, inventory manager, finance,
viewer, and head office's fleet planner, stock controller, claims clerk and technician.
"""

from __future__ import annotations

import pytest

from common.permission import (
    ALERT_KINDS,
    FLEET_WIDE,
    PERMISSIONS,
    VEHICLE_SCOPED,
    Role,
    alert_kinds,
    fleet_wide,
    permits,
)

COLUMNS = {
    "adm": "administrator",
    "doc": "doctor",
    "nur": "nurse",
    "clk": "clerk",
    "soc": "social_worker",
    "inv": "inventory_manager",
    "fin": "finance",
    "vie": "viewer",
    "fpl": "fleet_planner",
    "stc": "stock_controller",
    "ccl": "claims_clerk",
    "tec": "technician",
}

MATRIX = """
permission              adm doc nur clk soc inv fin vie fpl stc ccl tec
patients:read            x   x   x   x   x   .   .   x   .   .   .   .
patients:write           x   x   x   x   .   .   .   .   .   .   .   .
patients:merge           x   .   .   .   .   .   .   .   .   .   .   .
visits:read              x   x   x   x   x   .   .   x   .   .   .   .
visits:write             x   x   x   x   x   .   .   .   .   .   .   .
visits:reopen            x   .   .   .   .   .   .   .   .   .   .   .
vitals:read              x   x   x   .   .   .   .   x   .   .   .   .
vitals:write             x   .   x   .   .   .   .   .   .   .   .   .
clinical_notes:read      x   x   x   .   x   .   .   x   .   .   .   .
clinical_notes:write     x   x   x   .   x   .   .   .   .   .   .   .
diagnoses:write          x   x   .   .   .   .   .   .   .   .   .   .
prescriptions:write      x   x   .   .   .   .   .   .   .   .   .   .
prescriptions:dispense   x   x   x   .   .   .   .   .   .   .   .   .
referrals:read           x   x   x   .   x   .   .   x   .   .   .   .
referrals:write          x   x   .   .   x   .   .   .   .   .   .   .
appointments:read        x   x   x   x   x   .   .   x   .   .   .   .
appointments:write       x   .   .   x   .   .   .   .   .   .   .   .
routes:read              x   x   x   x   .   x   .   x   x   .   .   .
routes:write             x   .   .   .   .   .   .   .   x   .   .   .
locations:write          x   .   .   .   .   .   .   .   x   .   .   .
inventory:read           x   x   x   .   .   x   .   x   .   x   .   .
inventory:write          x   .   .   .   .   x   .   .   .   .   .   .
assets:read              x   .   .   .   .   x   .   x   .   .   .   .
assets:write             x   .   .   .   .   x   .   .   .   .   .   .
supply:read              x   .   .   .   .   x   .   x   .   x   .   .
supply:write             x   .   .   .   .   x   .   .   .   .   .   .
supply:approve           x   .   .   .   .   .   .   .   .   x   .   .
claims:read              x   .   .   .   .   .   x   x   .   .   x   .
claims:write             x   .   .   .   .   .   x   .   .   .   x   .
claims:submit            x   .   .   .   .   .   x   .   .   .   x   .
reports:read             x   .   .   .   .   .   x   x   .   .   .   .
dashboard:read           x   x   x   x   x   x   x   x   x   x   x   x
alerts:read              x   x   x   x   x   x   .   x   .   x   .   .
alerts:write             x   x   x   x   x   x   .   .   .   x   .   .
users:read               x   .   .   .   .   .   .   .   .   .   .   .
users:manage             x   .   .   .   .   .   .   .   .   .   .   .
audit:read               x   .   .   .   .   .   .   .   .   .   .   .
devices:read             x   .   .   .   .   .   .   x   .   .   .   x
devices:manage           x   .   .   .   .   .   .   .   .   .   .   x
vehicles:read            x   .   .   .   .   .   .   x   x   .   .   x
vehicles:write           x   .   .   .   .   .   .   .   x   .   .   .
reference:read           x   x   x   x   x   x   x   x   x   x   x   .
formulary:write          x   .   .   .   .   .   .   .   .   x   .   .
tariffs:write            x   .   .   .   .   .   .   .   .   .   x   .
sync:read                x   .   .   .   .   .   .   x   .   .   .   x
sync:run                 x   .   .   .   .   .   .   .   .   .   .   .
sync:resolve             x   .   .   .   .   .   .   .   .   .   .   .
system:read              x   .   .   .   .   .   .   .   .   .   .   x
profile:read             x   x   x   x   x   x   x   x   x   x   x   x
"""

# Head office's roles work across the fleet; crews and the viewer see their vehicles.
FLEET_WIDE_ROLES = {
    "administrator",
    "fleet_planner",
    "stock_controller",
    "claims_clerk",
    "technician",
    "finance",
}
VEHICLE_SCOPED_ROLES = {
    "doctor",
    "nurse",
    "clerk",
    "social_worker",
    "inventory_manager",
    "viewer",
}
STOCK_ALERTS = {"low_stock", "stock_expiry"}


def table() -> dict[tuple[str, str], bool]:
    header, *lines = MATRIX.strip().splitlines()
    roles = [COLUMNS[column] for column in header.split()[1:]]
    cells: dict[tuple[str, str], bool] = {}
    for line in lines:
        permission, *marks = line.split()
        assert len(marks) == len(roles), line
        for role, mark in zip(roles, marks, strict=True):
            assert mark in "x.", line
            cells[(role, permission)] = mark == "x"
    return cells


def test_the_table_names_every_role_and_permission() -> None:
    cells = table()
    assert {role for role, _ in cells} == {role.value for role in Role}
    assert {permission for _, permission in cells} == PERMISSIONS


@pytest.mark.parametrize("role", [role.value for role in Role])
def test_each_role_holds_exactly_its_jobs_permissions(role: str) -> None:
    cells = table()
    wrong = {
        permission: {"table": cells[(role, permission)], "code": permits(role, permission)}
        for permission in sorted(PERMISSIONS)
        if permits(role, permission) != cells[(role, permission)]
    }
    assert wrong == {}


def test_fleet_wide_and_vehicle_scoped_roles() -> None:
    assert {role.value for role in FLEET_WIDE} == FLEET_WIDE_ROLES
    assert {role.value for role in VEHICLE_SCOPED} == VEHICLE_SCOPED_ROLES
    assert {role for role in FLEET_WIDE_ROLES if fleet_wide(role)} == FLEET_WIDE_ROLES
    assert {role for role in VEHICLE_SCOPED_ROLES if fleet_wide(role)} == set()
    assert not fleet_wide("superuser")  # an unknown role sees no vehicle


def test_a_stock_controller_handles_stock_alerts_only() -> None:
    assert {role.value: set(kinds) for role, kinds in ALERT_KINDS.items()} == {
        "stock_controller": STOCK_ALERTS
    }
    assert alert_kinds("nurse") is None  # every kind
    assert alert_kinds("superuser") == frozenset()


def test_unknown_roles_and_permissions_are_refused() -> None:
    assert not permits("superuser", "patients:read")
    assert not permits("administrator", "reference:write")  # split into its jobs
