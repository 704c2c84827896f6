"""sync link: the compressed bytes per log entry of the edge's last push batch, so the
next sync sizes its first batch right instead of building it twice

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bytes_per_entry", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.drop_column("bytes_per_entry")
