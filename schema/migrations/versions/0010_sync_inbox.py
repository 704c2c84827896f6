"""sync inbox: an overloaded hub stores batches and drains them in the background

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:15:05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("peer", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("change_count", sa.Integer(), nullable=False),
        sa.Column(
            "body",
            sa.LargeBinary()
            .with_variant(mysql.MEDIUMBLOB(), "mariadb")
            .with_variant(mysql.MEDIUMBLOB(), "mysql"),
            nullable=True,
        ),
        sa.Column(
            "received_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "applied_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("report", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_inbox")),
        sa.UniqueConstraint("peer", "batch_id", name="uq_sync_inbox_batch"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sync_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_sync_inbox_peer", ["peer", "applied_at", "id"], unique=False)
        batch_op.create_index("ix_sync_inbox_queued", ["applied_at", "id"], unique=False)

    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reported", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.drop_column("reported")

    with op.batch_alter_table("sync_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_inbox_queued")
        batch_op.drop_index("ix_sync_inbox_peer")

    op.drop_table("sync_inbox")
