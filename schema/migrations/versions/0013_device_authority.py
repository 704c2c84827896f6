"""authority at the hub: a change the hub refused for want of a right is held for good
(`sync_quarantine.final`, never retried), and a batch's quarantine report may outgrow
MySQL's TEXT when the hub refuses most of a large batch (MEDIUMTEXT there); a laptop
restored from a backup re-bases (`sync_link.rebasing`, `rebased_at`, `rebase_note`)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("sync_quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("final", sa.Boolean(), nullable=False, server_default="0"))
    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rebasing", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("rebased_at", DATETIME, nullable=True))
        batch_op.add_column(sa.Column("rebase_note", sa.Text(), nullable=True))
    if op.get_bind().dialect.name != "sqlite":  # SQLite's TEXT has no such limit
        op.alter_column("sync_batch", "response", type_=mysql.MEDIUMTEXT(), existing_type=sa.Text())


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("sync_batch", "response", type_=sa.Text(), existing_type=mysql.MEDIUMTEXT())
    with op.batch_alter_table("sync_link", schema=None) as batch_op:
        batch_op.drop_column("rebase_note")
        batch_op.drop_column("rebased_at")
        batch_op.drop_column("rebasing")
    with op.batch_alter_table("sync_quarantine", schema=None) as batch_op:
        batch_op.drop_column("final")
