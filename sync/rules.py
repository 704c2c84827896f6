"""What each side accepts from the other (protocol, section 3).

The hub checks every change a device pushes against the device's rights: only its own
writes, only its own vehicle's rows, no reference data, no head-office users. An edge
applies what the hub sends, except union columns it has edited and not yet sent, which
the hub's three-way merge will supersede.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Row, Table, text

from sync.change import FULL_OPS, Change
from sync.clock import node_of
from sync.policy import Policy, Scope, SyncSpec


class DeviceRules:
    """The hub applying changes pushed by one device of one vehicle."""

    merges_unions = True

    def __init__(self, device: str, vehicle_id: str) -> None:
        self.device = device
        self.vehicle_id = vehicle_id

    def refusal(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> str | None:
        if spec.policy is Policy.REFERENCE:
            return f"{table.name} is reference data, edited only at head office"
        if change.op == "d" and node_of(change.version) != self.device:
            return "a device may only send its own deletes"
        if current is None and change.op in FULL_OPS:
            if (change.origin or node_of(change.version)) != self.device:
                return "a device may only create rows as itself"
        if spec.scope is Scope.VEHICLE:
            return self._vehicle_scope(spec, current, decoded)
        if spec.scope is Scope.USER and current is not None and current.origin_node != self.device:
            return "accounts made at head office are changed only at head office"
        return None

    def _vehicle_scope(
        self, spec: SyncSpec, current: Row[Any] | None, decoded: Mapping[str, Any]
    ) -> str | None:
        column = spec.scope_column or "vehicle_id"
        owners = {decoded[column]} if column in decoded else set()
        if current is not None:
            owners.add(getattr(current, column))
        if owners - {self.vehicle_id}:
            return "this row belongs to another vehicle"
        return None

    def held_columns(self, connection: Connection, change: Change, spec: SyncSpec) -> set[str]:
        """Columns whose version names another node: a device cannot speak for others."""
        return {
            column
            for column in change.values
            if node_of(change.column_version(column)) != self.device
        }


class HubRules:
    """An edge applying what the hub sends."""

    merges_unions = False

    def __init__(self, node: str, pushed_seq: int) -> None:
        self.node = node
        self.pushed_seq = pushed_seq

    def refusal(
        self,
        change: Change,
        table: Table,
        spec: SyncSpec,
        current: Row[Any] | None,
        decoded: Mapping[str, Any],
    ) -> str | None:
        return None

    def held_columns(self, connection: Connection, change: Change, spec: SyncSpec) -> set[str]:
        """Union columns with local edits the hub has not received yet."""
        union = set(spec.union_columns) & set(change.values)
        if not union:
            return set()
        pending = connection.execute(
            text(
                "SELECT columns FROM sync_change WHERE table_name = :t AND row_id = :r "
                "AND node = :n AND seq > :s"
            ),
            {"t": change.table, "r": change.row_id, "n": self.node, "s": self.pushed_seq},
        )
        edited = {column for row in pending for column in json.loads(row.columns or "{}")}
        return union & edited
