"""member feed: the hub's cursor in PALMED's feed of member status changes

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_feed",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_member_feed")),
    )


def downgrade() -> None:
    op.drop_table("member_feed")
