"""claim corrections: a reopened visit's claim is withdrawn, never deleted, and the claim
drafted at the next closure names the one it supersedes (so a visit may have several
claims over time); the hub reverses at PALMED a claim it had sent before submitting its
correction (`claim_reversal`), and records which call each attempt was (`kind`)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

import schema
from sync import capture

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # On SQLite batch mode re-makes `claim` under the rows of `claim_line`: foreign keys
    # are off meanwhile and checked before the commit (`schema.migrate`).
    with op.batch_alter_table("claim", schema=None) as batch_op:
        # the index first: on MySQL the foreign key needs one on visit_id at all times
        batch_op.create_index(batch_op.f("ix_claim_visit_id"), ["visit_id"], unique=False)
        batch_op.drop_constraint(batch_op.f("uq_claim_visit_id"), type_="unique")
        batch_op.add_column(sa.Column("supersedes_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", DATETIME, nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_claim_supersedes_id"), ["supersedes_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_supersedes_id"), "claim", ["supersedes_id"], ["id"]
        )
    with op.batch_alter_table("claim_attempt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="submission")
        )
    op.create_table(
        "claim_reversal",
        sa.Column("corrected_by_id", sa.String(length=36), nullable=False),
        sa.Column("palmed_reversal_id", sa.String(length=64), nullable=True),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", DATETIME, nullable=True),
        sa.Column("locked_until", DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", DATETIME, nullable=False),
        sa.Column("updated_at", DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_claim_reversal_claim_id")
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"], ["claim.id"], name=op.f("fk_claim_reversal_corrected_by_id")
        ),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_claim_reversal")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_claim_reversal_idempotency_key")),
    )
    with op.batch_alter_table("claim_reversal", schema=None) as batch_op:
        batch_op.create_index("ix_claim_reversal_due", ["state", "next_attempt_at"], unique=False)
    # batch mode re-made the table on SQLite (its triggers with it), and the new columns
    # must be captured on MySQL too
    capture.install(op.get_bind(), [schema.metadata.tables["claim"]])


def downgrade() -> None:
    with op.batch_alter_table("claim_reversal", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_reversal_due")
    op.drop_table("claim_reversal")
    with op.batch_alter_table("claim_attempt", schema=None) as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_claim_supersedes_id"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_claim_supersedes_id"))
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("supersedes_id")
        batch_op.create_unique_constraint(batch_op.f("uq_claim_visit_id"), ["visit_id"])
        batch_op.drop_index(batch_op.f("ix_claim_visit_id"))
    capture.install(op.get_bind(), [schema.metadata.tables["claim"]])
