"""fewer pages per edge commit: on SQLite the change log's `tx` index holds only rows
with a `tx` (none there), and an edge drops the indexes only the hub reads (audit search,
the change log by scope)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than read from the models (`schema.hub_only_indexes`), so that this
# step stays what it was when the models change.
HUB_ONLY = {
    "ix_audit_record_user_at": ("audit_record", ["user_id", "at"]),
    "ix_audit_record_patient_at": ("audit_record", ["patient_id", "at"]),
    "ix_audit_record_at": ("audit_record", ["at"]),
    "ix_audit_record_vehicle_at": ("audit_record", ["vehicle_id", "at"]),
    "ix_sync_change_scope": ("sync_change", ["scope_kind", "scope_id", "seq"]),
}


def _is_edge() -> bool:
    found = op.get_bind().execute(sa.text("SELECT 1 FROM sync_node WHERE kind = 'edge'"))
    return found.first() is not None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.drop_index("ix_sync_change_tx", table_name="sync_change")
    op.create_index(
        "ix_sync_change_tx",
        "sync_change",
        ["tx", "commit_seq"],
        sqlite_where=sa.text("tx IS NOT NULL"),
    )
    if _is_edge():
        for name, (table, _) in HUB_ONLY.items():
            op.drop_index(name, table_name=table, if_exists=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    if _is_edge():
        for name, (table, columns) in HUB_ONLY.items():
            op.create_index(name, table, columns, if_not_exists=True)
    op.drop_index("ix_sync_change_tx", table_name="sync_change")
    op.create_index("ix_sync_change_tx", "sync_change", ["tx", "commit_seq"])
