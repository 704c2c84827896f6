"""Every table declares how it syncs, and the query paths have their indexes."""

from __future__ import annotations

import pytest
from sqlalchemy import Table

import schema
from sync.policy import Policy, Scope, sync_spec

# Tables that stay on the node that wrote them (bookkeeping, credentials, hub-only work).
NODE_LOCAL = {
    "audit_chain",
    "audit_seal",
    "claim_attempt",
    "claim_reversal",
    "claim_submission",
    "device",
    "enrollment_token",
    "invite",
    "login_state",
    "member_feed",
    "patient_duplicate",
    "revoked_token",
    "stock_level",
    "sync_batch",
    "sync_change",
    "sync_clock",
    "sync_inbox",
    "sync_conflict",
    "sync_link",
    "sync_node",
    "sync_counter",
    "sync_nonce",
    "sync_quarantine",
    "sync_subscription",
    "web_session",
}

TABLES = sorted(schema.metadata.tables.values(), key=lambda t: t.name)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_table_is_either_synced_or_node_local(table: Table) -> None:
    spec = sync_spec(table)
    assert (spec is None) == (table.name in NODE_LOCAL)
    if spec is None:
        return
    assert {"id", "origin_node", "version"} <= set(table.columns.keys())
    if spec.scope_column is not None:
        assert spec.scope_column in table.columns
    if spec.scope in (Scope.VEHICLE, Scope.PATIENT, Scope.USER):
        assert spec.scope_column is not None
    for column in spec.union_columns + spec.local_columns:
        assert column in table.columns


def test_append_only_tables_are_the_records_that_never_change() -> None:
    append_only = {t.name for t in TABLES if (s := sync_spec(t)) and s.policy is Policy.APPEND_ONLY}
    assert append_only == {
        "alert_escalation",
        "audit_record",
        "clinical_note",
        "maintenance_record",
        "stock_movement",
        "visit_transition",
        "vital_sign",
    }


def indexed_prefixes(table: Table) -> set[tuple[str, ...]]:
    prefixes: set[tuple[str, ...]] = set()
    constraints = list(table.indexes) + [c for c in table.constraints if hasattr(c, "columns")]
    for index in constraints:
        names = tuple(column.name for column in index.columns)
        prefixes.update(names[: n + 1] for n in range(len(names)))
    return prefixes


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("patient", ("last_name",)),
        ("patient", ("id_number",)),
        ("patient", ("medical_aid_number", "dependant_code")),
        ("visit", ("vehicle_id", "visit_date")),
        ("stock_movement", ("vehicle_id", "item_id", "lot_id")),
        ("lot", ("vehicle_id", "item_id")),
        ("audit_record", ("user_id", "at")),
        ("audit_record", ("at",)),
        ("sync_change", ("scope_kind", "scope_id", "seq")),
    ],
)
def test_query_paths_are_indexed(table: str, columns: tuple[str, ...]) -> None:
    assert columns in indexed_prefixes(schema.metadata.tables[table])
