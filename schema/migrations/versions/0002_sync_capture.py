"""sync capture: commit ordering of the change log and the capture triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:16:43.157663
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import schema
from sync import capture

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_counter",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sync_counter")),
    )
    with op.batch_alter_table("sync_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prior", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("commit_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("tx", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_sync_change_commit", ["commit_seq"], unique=False)
        batch_op.create_index("ix_sync_change_tx", ["tx", "commit_seq"], unique=False)

    with op.batch_alter_table("sync_clock", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base", sa.String(length=64), nullable=True))

    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope_seq", sa.BigInteger(), nullable=False, server_default="0")
        )

    op.execute("INSERT INTO sync_counter (name, value) VALUES ('commit', 0)")
    capture.install(op.get_bind(), schema.metadata.sorted_tables)


def downgrade() -> None:
    capture.uninstall(op.get_bind(), schema.metadata.sorted_tables)
    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.drop_column("scope_seq")

    with op.batch_alter_table("sync_clock", schema=None) as batch_op:
        batch_op.drop_column("base")

    with op.batch_alter_table("sync_change", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_change_tx")
        batch_op.drop_index("ix_sync_change_commit")
        batch_op.drop_column("tx")
        batch_op.drop_column("commit_seq")
        batch_op.drop_column("prior")

    op.drop_table("sync_counter")
