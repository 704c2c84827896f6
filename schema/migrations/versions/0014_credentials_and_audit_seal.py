"""credentials end when they should, and a lockout an outsider cannot use: failed
logins are counted per account and client address (`login_state`, node-local, made
anew: its counts and locks are transient); logout ends token families
(`revoked_token.family`, made anew: tokens issued before carry no family and are
refused anyway); a browser session keeps the standing it began with
(`web_session.credentials`; sessions from before have none and end); the audit trail
is sealed under a key kept outside the database (`audit_seal`, node-local, and the
chain head's `seal_key` and `seal`)

Revision ID: 0014
Revises: 0013
Create Date: 2027-01-05 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _datetime() -> sa.DateTime:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.drop_table("login_state")
    op.create_table(
        "login_state",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", _datetime(), nullable=True),
        sa.Column("last_failed_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", "client_addr", name=op.f("pk_login_state")),
    )
    with op.batch_alter_table("login_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_state_last_failed_at"), ["last_failed_at"], unique=False
        )
    _revoked_token("family")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credentials", sa.String(length=64), nullable=True))
    op.create_table(
        "audit_seal",
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_audit_seal")),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("audit_chain", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal_key", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))


def _revoked_token(key: str) -> None:
    op.drop_table("revoked_token")
    op.create_table(
        "revoked_token",
        sa.Column(key, sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("expires_at", _datetime(), nullable=False),
        sa.PrimaryKeyConstraint(key, name=op.f("pk_revoked_token")),
    )
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_token_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_chain", schema=None) as batch_op:
        batch_op.drop_column("seal")
        batch_op.drop_column("seal_key")
    op.drop_table("audit_seal")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("credentials")
    _revoked_token("jti")
    op.drop_table("login_state")
    op.create_table(
        "login_state",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("locked_until", _datetime(), nullable=True),
        sa.Column("last_login_at", _datetime(), nullable=True),
        sa.Column("last_failed_at", _datetime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_login_state")),
    )
