"""stock level trigger: keep the per-lot summary in step with the movement ledger

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01 09:30:00.000000

A trigger, not service code, so movements that arrive by sync (or any other path) move
`stock_level` too; `edge.stock.service.rebuild_levels` recomputes it from the ledger.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGER = "stock_level_from_ledger"

SQLITE = """CREATE TRIGGER stock_level_from_ledger AFTER INSERT ON stock_movement BEGIN
  INSERT INTO stock_level (lot_id, vehicle_id, item_id, quantity)
  VALUES (NEW.lot_id, NEW.vehicle_id, NEW.item_id, NEW.quantity)
  ON CONFLICT (lot_id) DO UPDATE SET quantity = stock_level.quantity + excluded.quantity;
END"""

MYSQL = """CREATE TRIGGER stock_level_from_ledger AFTER INSERT ON stock_movement FOR EACH ROW
INSERT INTO stock_level (lot_id, vehicle_id, item_id, quantity)
VALUES (NEW.lot_id, NEW.vehicle_id, NEW.item_id, NEW.quantity)
ON DUPLICATE KEY UPDATE quantity = quantity + NEW.quantity"""


def upgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
    op.execute(SQLITE if op.get_bind().dialect.name == "sqlite" else MYSQL)


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}")
