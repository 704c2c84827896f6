"""How each synced table travels between nodes and how its conflicts resolve.

Models declare a `SyncSpec` in their table info; everything in `sync/` reads the
policy from there, so a new table gets the right behaviour by declaring it once. This is
the bottom of `sync/`: it imports nothing of it, and the capture, the changes, the hash
chains and everything above them import it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Table

Digester = Callable[[str, str, Mapping[str, Any]], str]  # row id, origin, encoded values


@dataclass(frozen=True)
class Chain:
    """A hash-chained table (`sync.chain`): rows numbered by `sequence` per origin node;
    `link` holds the digest of the row numbered one less, `digest` the row's own, which
    `compute` derives from the row."""

    sequence: str
    link: str
    digest: str
    compute: Digester


class Policy(StrEnum):
    APPEND_ONLY = "append_only"  # inserts only: never conflicts, never edited
    OWNED = "owned"  # edited only by the owning vehicle's nodes (or the hub)
    SHARED = "shared"  # any node edits; merged field by field by clock
    REFERENCE = "reference"  # head-office data: written only at the hub


class Scope(StrEnum):
    ALL = "all"  # every vehicle receives it
    VEHICLE = "vehicle"  # the vehicle named by the scope column
    PATIENT = "patient"  # the vehicles that need this patient
    USER = "user"  # the vehicles the user is assigned to
    HUB = "hub"  # travels up to the hub only (audit)


@dataclass(frozen=True)
class SyncSpec:
    """How a table syncs. `hub_columns` are written only at the hub (a device's insert
    leaves them empty or at their default, and no device changes them); `home_column`
    names the vehicle a row was made on (a device's insert names its own, and no device
    changes it). The hub enforces both (`sync.rules.DeviceRules`)."""

    policy: Policy
    scope: Scope
    scope_column: str | None = None
    union_columns: tuple[str, ...] = ()
    local_columns: tuple[str, ...] = ()
    chain: Chain | None = None  # rows hash-chained per node (sync.chain)
    hub_columns: tuple[str, ...] = ()
    home_column: str | None = None
    # a device changes a row only while `column` is one of `states` (a claim until it is
    # sent to PALMED), and a child of such a row (by `sealed_by`) only while its parent is
    open_while: tuple[str, tuple[str, ...]] | None = None
    sealed_by: str | None = None


def synced(
    policy: Policy,
    scope: Scope,
    scope_column: str | None = None,
    *,
    union_columns: tuple[str, ...] = (),
    local_columns: tuple[str, ...] = (),
    chain: Chain | None = None,
    hub_columns: tuple[str, ...] = (),
    home_column: str | None = None,
    open_while: tuple[str, tuple[str, ...]] | None = None,
    sealed_by: str | None = None,
) -> dict[str, Any]:
    """Table info that marks a table as synced with the given policy."""
    spec = SyncSpec(
        policy,
        scope,
        scope_column,
        union_columns,
        local_columns,
        chain,
        hub_columns,
        home_column,
        open_while,
        sealed_by,
    )
    return {"sync": spec}


def sync_spec(table: Table) -> SyncSpec | None:
    """The table's sync policy, or None for node-local tables."""
    return table.info.get("sync")


def synced_tables(tables: list[Table]) -> list[Table]:
    """The synced tables among `tables`, in dependency order."""
    return [t for t in tables if sync_spec(t) is not None]
