"""dashboard indexes: visits, claims and stock movements by date across the fleet

The head-office reports group the whole fleet's rows by day; the existing indexes lead
with the vehicle, so a fleet-wide period would scan every row.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain CREATE INDEX (no batch mode): rebuilding a table on SQLite would drop its
    # capture triggers.
    op.create_index("ix_visit_date_stage", "visit", ["visit_date", "vehicle_id", "stage"])
    op.create_index("ix_claim_service_date", "claim", ["service_date", "status"])
    op.create_index("ix_stock_movement_occurred", "stock_movement", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_stock_movement_occurred", table_name="stock_movement")
    op.drop_index("ix_claim_service_date", table_name="claim")
    op.drop_index("ix_visit_date_stage", table_name="visit")
