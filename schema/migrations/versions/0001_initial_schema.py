"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 04:02:32.301046
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_chain",
        sa.Column("node", sa.String(length=32), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_audit_chain")),
    )
    op.create_table(
        "audit_record",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("chain_seq", sa.BigInteger(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=24), nullable=True),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("client_addr", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("vehicle_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("retention_until", sa.Date(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_record")),
        sa.UniqueConstraint(
            "origin_node", "chain_seq", name=op.f("uq_audit_record_origin_node_chain_seq")
        ),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.create_index("ix_audit_record_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_record_patient_at", ["patient_id", "at"], unique=False)
        batch_op.create_index("ix_audit_record_user_at", ["user_id", "at"], unique=False)
        batch_op.create_index("ix_audit_record_vehicle_at", ["vehicle_id", "at"], unique=False)

    op.create_table(
        "item",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("nappi_code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("strength", sa.String(length=64), nullable=True),
        sa.Column("unit", sa.String(length=24), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("tariff_price", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("reorder_level", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
        sa.UniqueConstraint("nappi_code", name=op.f("uq_item_nappi_code")),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_name"), ["name"], unique=False)

    op.create_table(
        "login_state",
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column(
            "locked_until",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "last_login_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "last_failed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_login_state")),
    )
    op.create_table(
        "province",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_province")),
        sa.UniqueConstraint("code", name=op.f("uq_province_code")),
    )
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column(
            "expires_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_token")),
    )
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_token_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "supplier",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("contact_name", sa.String(length=120), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier")),
        sa.UniqueConstraint("name", name=op.f("uq_supplier_name")),
    )
    op.create_table(
        "sync_batch",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("peer", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("change_count", sa.Integer(), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("response", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_batch")),
    )
    with op.batch_alter_table("sync_batch", schema=None) as batch_op:
        batch_op.create_index("ix_sync_batch_peer", ["peer", "applied_at"], unique=False)

    op.create_table(
        "sync_change",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("op", sa.String(length=1), nullable=False),
        sa.Column("columns", sa.Text(), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("node", sa.String(length=32), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sync_change")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sync_change", schema=None) as batch_op:
        batch_op.create_index("ix_sync_change_node", ["node", "seq"], unique=False)
        batch_op.create_index("ix_sync_change_row", ["table_name", "row_id"], unique=False)
        batch_op.create_index(
            "ix_sync_change_scope", ["scope_kind", "scope_id", "seq"], unique=False
        )

    op.create_table(
        "sync_clock",
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("clocks", sa.Text(), nullable=False),
        sa.Column("deleted", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("table_name", "row_id", name=op.f("pk_sync_clock")),
    )
    op.create_table(
        "sync_conflict",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("table_name", sa.String(length=64), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("column_name", sa.String(length=64), nullable=False),
        sa.Column("local_value", sa.Text(), nullable=True),
        sa.Column("remote_value", sa.Text(), nullable=True),
        sa.Column("merged_value", sa.Text(), nullable=True),
        sa.Column("local_version", sa.String(length=64), nullable=False),
        sa.Column("remote_version", sa.String(length=64), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.Column(
            "resolved_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_conflict")),
    )
    with op.batch_alter_table("sync_conflict", schema=None) as batch_op:
        batch_op.create_index("ix_sync_conflict_status", ["status", "created_at"], unique=False)

    op.create_table(
        "sync_link",
        sa.Column("peer", sa.String(length=32), nullable=False),
        sa.Column("pushed_seq", sa.BigInteger(), nullable=False),
        sa.Column("pull_cursor", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("clock_offset_ms", sa.BigInteger(), nullable=True),
        sa.Column(
            "last_attempt_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "last_success_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "last_error_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("peer", name=op.f("pk_sync_link")),
    )
    op.create_table(
        "sync_node",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=True),
        sa.Column("hlc_floor", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_node")),
    )
    op.create_table(
        "sync_nonce",
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column(
            "expires_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("device_id", "nonce", name=op.f("pk_sync_nonce")),
    )
    with op.batch_alter_table("sync_nonce", schema=None) as batch_op:
        batch_op.create_index("ix_sync_nonce_expires", ["expires_at"], unique=False)

    op.create_table(
        "sync_quarantine",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("peer", sa.String(length=32), nullable=False),
        sa.Column("batch_id", sa.String(length=64), nullable=True),
        sa.Column("table_name", sa.String(length=64), nullable=True),
        sa.Column("row_id", sa.String(length=36), nullable=True),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "resolved_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_quarantine")),
    )
    with op.batch_alter_table("sync_quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_sync_quarantine_open", ["resolved_at", "peer"], unique=False)

    op.create_table(
        "sync_subscription",
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=36), nullable=False),
        sa.Column("since_seq", sa.BigInteger(), nullable=False),
        sa.Column("backfilled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "vehicle_id", "scope_kind", "scope_id", name=op.f("pk_sync_subscription")
        ),
    )
    op.create_table(
        "tariff",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tariff")),
        sa.UniqueConstraint("code", name=op.f("uq_tariff_code")),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
        sa.UniqueConstraint("username", name=op.f("uq_user_username")),
    )
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_role"), ["role"], unique=False)

    op.create_table(
        "web_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "revoked_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_session")),
    )
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "invite",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "accepted_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_invite_user_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invite_token_hash")),
    )
    op.create_table(
        "location",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("province_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["province.id"], name=op.f("fk_location_province_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location")),
    )
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_location_name"), ["name"], unique=False)

    op.create_table(
        "patient",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("first_name", sa.String(length=80), nullable=False),
        sa.Column("last_name", sa.String(length=80), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("id_number", sa.String(length=13), nullable=True),
        sa.Column("passport_number", sa.String(length=20), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("province_id", sa.String(length=36), nullable=True),
        sa.Column("language", sa.String(length=32), nullable=True),
        sa.Column("medical_aid_number", sa.String(length=20), nullable=True),
        sa.Column("dependant_code", sa.String(length=3), nullable=True),
        sa.Column("member_status", sa.String(length=16), nullable=False),
        sa.Column(
            "member_verified_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("allergies", sa.Text(), nullable=False),
        sa.Column("chronic_conditions", sa.Text(), nullable=False),
        sa.Column("medical_history", sa.Text(), nullable=True),
        sa.Column("emergency_contact_name", sa.String(length=120), nullable=True),
        sa.Column("emergency_contact_phone", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into_id", sa.String(length=36), nullable=True),
        sa.Column("registered_vehicle_id", sa.String(length=36), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["province.id"], name=op.f("fk_patient_province_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient")),
    )
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.create_index("ix_patient_birth_name", ["date_of_birth", "last_name"], unique=False)
        batch_op.create_index("ix_patient_first_name", ["first_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_patient_id_number"), ["id_number"], unique=False)
        batch_op.create_index(
            "ix_patient_medical_aid", ["medical_aid_number", "dependant_code"], unique=False
        )
        batch_op.create_index("ix_patient_name", ["last_name", "first_name"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_patient_passport_number"), ["passport_number"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_patient_registered_vehicle_id"), ["registered_vehicle_id"], unique=False
        )

    op.create_table(
        "vehicle",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("registration_plate", sa.String(length=20), nullable=False),
        sa.Column("province_id", sa.String(length=36), nullable=True),
        sa.Column("practice_number", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["province_id"], ["province.id"], name=op.f("fk_vehicle_province_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle")),
        sa.UniqueConstraint("name", name=op.f("uq_vehicle_name")),
        sa.UniqueConstraint("registration_plate", name=op.f("uq_vehicle_registration_plate")),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("dedupe_key", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("acknowledged_by", sa.String(length=36), nullable=True),
        sa.Column(
            "acknowledged_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.Column(
            "resolved_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_alert_vehicle_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index("ix_alert_dedupe", ["vehicle_id", "dedupe_key"], unique=False)
        batch_op.create_index("ix_alert_open", ["vehicle_id", "status", "priority"], unique=False)

    op.create_table(
        "asset",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("supplier_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("serial_number", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acquired_on", sa.Date(), nullable=True),
        sa.Column("maintenance_interval_days", sa.Integer(), nullable=True),
        sa.Column("next_maintenance_due", sa.Date(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_asset_supplier_id")
        ),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_asset_vehicle_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
        sa.UniqueConstraint("serial_number", name=op.f("uq_asset_serial_number")),
    )
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_asset_next_maintenance_due"), ["next_maintenance_due"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_asset_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "device",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("public_key", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "enrolled_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "revoked_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "retired_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "last_seen_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "last_sync_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("clock_offset_ms", sa.Integer(), nullable=True),
        sa.Column("app_version", sa.String(length=32), nullable=True),
        sa.Column("key_escrow", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_device_vehicle_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device")),
    )
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "enrollment_token",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "expires_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "used_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("used_by_device", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_enrollment_token_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_enrollment_token_token_hash")),
    )
    op.create_table(
        "lot",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("batch_number", sa.String(length=40), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_lot_item_id")),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_lot_vehicle_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot")),
        sa.UniqueConstraint(
            "vehicle_id",
            "item_id",
            "batch_number",
            name=op.f("uq_lot_vehicle_id_item_id_batch_number"),
        ),
    )
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lot_item_expiry", ["vehicle_id", "item_id", "expiry_date"], unique=False
        )

    op.create_table(
        "patient_duplicate",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_a_id", sa.String(length=36), nullable=False),
        sa.Column("patient_b_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "detected_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "resolved_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("resolved_by", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_a_id"], ["patient.id"], name=op.f("fk_patient_duplicate_patient_a_id")
        ),
        sa.ForeignKeyConstraint(
            ["patient_b_id"], ["patient.id"], name=op.f("fk_patient_duplicate_patient_b_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_duplicate")),
    )
    with op.batch_alter_table("patient_duplicate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_duplicate_status"), ["status"], unique=False)

    op.create_table(
        "route",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("route_date", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_route_vehicle_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route")),
    )
    with op.batch_alter_table("route", schema=None) as batch_op:
        batch_op.create_index("ix_route_vehicle_date", ["vehicle_id", "route_date"], unique=False)

    op.create_table(
        "supply_request",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=36), nullable=True),
        sa.Column(
            "decided_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_supply_request_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_request")),
    )
    with op.batch_alter_table("supply_request", schema=None) as batch_op:
        batch_op.create_index("ix_supply_request_status", ["status", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supply_request_vehicle_id"), ["vehicle_id"], unique=False
        )

    op.create_table(
        "user_vehicle",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_user_vehicle_user_id")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_user_vehicle_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_vehicle")),
        sa.UniqueConstraint(
            "user_id", "vehicle_id", name=op.f("uq_user_vehicle_user_id_vehicle_id")
        ),
    )
    with op.batch_alter_table("user_vehicle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_user_vehicle_vehicle_id"), ["vehicle_id"], unique=False
        )

    op.create_table(
        "visit",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("open_day", sa.Date(), nullable=True),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appointment_id", sa.String(length=36), nullable=True),
        sa.Column("location_id", sa.String(length=36), nullable=True),
        sa.Column("eligibility_status", sa.String(length=16), nullable=True),
        sa.Column(
            "eligibility_verified_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("counseling_skip_reason", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("opened_by", sa.String(length=36), nullable=False),
        sa.Column(
            "opened_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("closed_by", sa.String(length=36), nullable=True),
        sa.Column(
            "closed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_visit_location_id")
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_visit_patient_id")),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_visit_vehicle_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit")),
        sa.UniqueConstraint(
            "vehicle_id",
            "patient_id",
            "open_day",
            name=op.f("uq_visit_vehicle_id_patient_id_open_day"),
        ),
    )
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_patient", ["patient_id", "visit_date"], unique=False)
        batch_op.create_index("ix_visit_queue", ["vehicle_id", "status", "stage"], unique=False)
        batch_op.create_index("ix_visit_vehicle_date", ["vehicle_id", "visit_date"], unique=False)

    op.create_table(
        "alert_escalation",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("alert_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=True),
        sa.Column("from_level", sa.Integer(), nullable=False),
        sa.Column("to_level", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column(
            "at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_escalation_alert_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_alert_escalation_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_escalation")),
    )
    with op.batch_alter_table("alert_escalation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_escalation_alert_id"), ["alert_id"], unique=False
        )

    op.create_table(
        "claim",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("member_number", sa.String(length=20), nullable=True),
        sa.Column("dependant_code", sa.String(length=3), nullable=True),
        sa.Column("practice_number", sa.String(length=20), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("icd10_codes", sa.Text(), nullable=False),
        sa.Column("total_amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("problems", sa.Text(), nullable=False),
        sa.Column("palmed_claim_id", sa.String(length=64), nullable=True),
        sa.Column("rejection_codes", sa.Text(), nullable=False),
        sa.Column("paid_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patient.id"], name=op.f("fk_claim_patient_id")),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicle.id"], name=op.f("fk_claim_vehicle_id")),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_claim_visit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_claim_visit_id")),
    )
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index("ix_claim_status", ["status", "updated_at"], unique=False)
        batch_op.create_index("ix_claim_vehicle_date", ["vehicle_id", "service_date"], unique=False)

    op.create_table(
        "clinical_note",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_clinical_note_patient_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_clinical_note_vehicle_id")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_clinical_note_visit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_note")),
    )
    with op.batch_alter_table("clinical_note", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_clinical_note_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_clinical_note_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "delivery",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("supply_request_id", sa.String(length=36), nullable=True),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("supplier_id", sa.String(length=36), nullable=True),
        sa.Column("carrier", sa.String(length=80), nullable=True),
        sa.Column("tracking_number", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "shipped_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "delivered_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("received_by", sa.String(length=36), nullable=True),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["supplier.id"], name=op.f("fk_delivery_supplier_id")
        ),
        sa.ForeignKeyConstraint(
            ["supply_request_id"], ["supply_request.id"], name=op.f("fk_delivery_supply_request_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_delivery_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_supply_request_id"), ["supply_request_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "diagnosis",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("icd10_code", sa.String(length=8), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_diagnosis_patient_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_diagnosis_vehicle_id")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_diagnosis_visit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis")),
    )
    with op.batch_alter_table("diagnosis", schema=None) as batch_op:
        batch_op.create_index("ix_diagnosis_code", ["icd10_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_diagnosis_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_diagnosis_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "maintenance_record",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("asset_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("performed_by", sa.String(length=36), nullable=False),
        sa.Column(
            "performed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["asset.id"], name=op.f("fk_maintenance_record_asset_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_maintenance_record_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_record")),
    )
    with op.batch_alter_table("maintenance_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_maintenance_record_asset_id"), ["asset_id"], unique=False
        )

    op.create_table(
        "prescription",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("nappi_code", sa.String(length=16), nullable=False),
        sa.Column("dose", sa.String(length=64), nullable=False),
        sa.Column("frequency", sa.String(length=64), nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("warnings", sa.Text(), nullable=False),
        sa.Column("prescribed_by", sa.String(length=36), nullable=False),
        sa.Column(
            "prescribed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("dispensed_by", sa.String(length=36), nullable=True),
        sa.Column(
            "dispensed_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_prescription_item_id")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_prescription_patient_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_prescription_vehicle_id")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_prescription_visit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescription")),
    )
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prescription_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_prescription_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "referral",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("facility", sa.String(length=160), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_referral_patient_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_referral_vehicle_id")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_referral_visit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral")),
    )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referral_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_referral_vehicle_status", ["vehicle_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_referral_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "route_stop",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("route_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("location_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "arrival_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "departure_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["location.id"], name=op.f("fk_route_stop_location_id")
        ),
        sa.ForeignKeyConstraint(["route_id"], ["route.id"], name=op.f("fk_route_stop_route_id")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_route_stop_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_stop")),
        sa.UniqueConstraint("route_id", "sequence", name=op.f("uq_route_stop_route_id_sequence")),
    )
    op.create_table(
        "stock_level",
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_stock_level_lot_id")),
        sa.PrimaryKeyConstraint("lot_id", name=op.f("pk_stock_level")),
    )
    with op.batch_alter_table("stock_level", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_level_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_level_vehicle_id"), ["vehicle_id"], unique=False)

    op.create_table(
        "stock_movement",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("lot_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reference_type", sa.String(length=24), nullable=True),
        sa.Column("reference_id", sa.String(length=36), nullable=True),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_stock_movement_item_id")),
        sa.ForeignKeyConstraint(["lot_id"], ["lot.id"], name=op.f("fk_stock_movement_lot_id")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_stock_movement_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movement")),
    )
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_movement_item_lot", ["vehicle_id", "item_id", "lot_id"], unique=False
        )
        batch_op.create_index("ix_stock_movement_lot", ["lot_id", "occurred_at"], unique=False)

    op.create_table(
        "supply_request_line",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("supply_request_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["item.id"], name=op.f("fk_supply_request_line_item_id")
        ),
        sa.ForeignKeyConstraint(
            ["supply_request_id"],
            ["supply_request.id"],
            name=op.f("fk_supply_request_line_supply_request_id"),
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_supply_request_line_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_request_line")),
    )
    with op.batch_alter_table("supply_request_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_supply_request_line_supply_request_id"),
            ["supply_request_id"],
            unique=False,
        )

    op.create_table(
        "visit_transition",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("from_stage", sa.String(length=24), nullable=True),
        sa.Column("to_stage", sa.String(length=24), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.String(length=36), nullable=False),
        sa.Column("actor_role", sa.String(length=24), nullable=False),
        sa.Column(
            "at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_visit_transition_vehicle_id")
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"], ["visit.id"], name=op.f("fk_visit_transition_visit_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_transition")),
    )
    with op.batch_alter_table("visit_transition", schema=None) as batch_op:
        batch_op.create_index("ix_visit_transition_visit", ["visit_id", "at"], unique=False)

    op.create_table(
        "vital_sign",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("recorded_by", sa.String(length=36), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("pulse", sa.Integer(), nullable=True),
        sa.Column("temperature", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("respiratory_rate", sa.Integer(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("weight_kg", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("height_cm", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("bmi", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("glucose", sa.Numeric(precision=4, scale=1), nullable=True),
        sa.Column("flags", sa.Text(), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_vital_sign_patient_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_vital_sign_vehicle_id")
        ),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"], name=op.f("fk_vital_sign_visit_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vital_sign")),
    )
    with op.batch_alter_table("vital_sign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vital_sign_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vital_sign_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "appointment_slot",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("route_stop_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column(
            "starts_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "ends_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["route_stop_id"], ["route_stop.id"], name=op.f("fk_appointment_slot_route_stop_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_appointment_slot_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_slot")),
    )
    with op.batch_alter_table("appointment_slot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_slot_stop", ["route_stop_id", "starts_at"], unique=False
        )

    op.create_table(
        "claim_attempt",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column(
            "at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_claim_attempt_claim_id")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_attempt")),
    )
    with op.batch_alter_table("claim_attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_attempt_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "claim_line",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["claim_id"], ["claim.id"], name=op.f("fk_claim_line_claim_id")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_claim_line_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_line")),
    )
    with op.batch_alter_table("claim_line", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_line_claim_id"), ["claim_id"], unique=False)

    op.create_table(
        "claim_submission",
        sa.Column("claim_id", sa.String(length=36), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column(
            "locked_until",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claim.id"], name=op.f("fk_claim_submission_claim_id")
        ),
        sa.PrimaryKeyConstraint("claim_id", name=op.f("pk_claim_submission")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_claim_submission_idempotency_key")),
    )
    with op.batch_alter_table("claim_submission", schema=None) as batch_op:
        batch_op.create_index("ix_claim_submission_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "delivery_line",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("delivery_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("item_id", sa.String(length=36), nullable=False),
        sa.Column("batch_number", sa.String(length=40), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_delivery_line_delivery_id")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_delivery_line_item_id")),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_delivery_line_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_line")),
    )
    with op.batch_alter_table("delivery_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_line_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "appointment",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("slot_id", sa.String(length=36), nullable=False),
        sa.Column("vehicle_id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("booked_by", sa.String(length=36), nullable=False),
        sa.Column(
            "booked_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb"),
            nullable=False,
        ),
        sa.Column("origin_node", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_appointment_patient_id")
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["appointment_slot.id"], name=op.f("fk_appointment_slot_id")
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicle.id"], name=op.f("fk_appointment_vehicle_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment")),
    )
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.create_index("ix_appointment_patient", ["patient_id"], unique=False)
        batch_op.create_index("ix_appointment_slot_status", ["slot_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("appointment", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_slot_status")
        batch_op.drop_index("ix_appointment_patient")

    op.drop_table("appointment")
    with op.batch_alter_table("delivery_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_line_delivery_id"))

    op.drop_table("delivery_line")
    with op.batch_alter_table("claim_submission", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_submission_due")

    op.drop_table("claim_submission")
    with op.batch_alter_table("claim_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_line_claim_id"))

    op.drop_table("claim_line")
    with op.batch_alter_table("claim_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_attempt_claim_id"))

    op.drop_table("claim_attempt")
    with op.batch_alter_table("appointment_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_slot_stop")

    op.drop_table("appointment_slot")
    with op.batch_alter_table("vital_sign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vital_sign_visit_id"))
        batch_op.drop_index(batch_op.f("ix_vital_sign_patient_id"))

    op.drop_table("vital_sign")
    with op.batch_alter_table("visit_transition", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_transition_visit")

    op.drop_table("visit_transition")
    with op.batch_alter_table("supply_request_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_request_line_supply_request_id"))

    op.drop_table("supply_request_line")
    with op.batch_alter_table("stock_movement", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movement_lot")
        batch_op.drop_index("ix_stock_movement_item_lot")

    op.drop_table("stock_movement")
    with op.batch_alter_table("stock_level", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_level_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_stock_level_item_id"))

    op.drop_table("stock_level")
    op.drop_table("route_stop")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referral_visit_id"))
        batch_op.drop_index("ix_referral_vehicle_status")
        batch_op.drop_index(batch_op.f("ix_referral_patient_id"))

    op.drop_table("referral")
    with op.batch_alter_table("prescription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescription_visit_id"))
        batch_op.drop_index(batch_op.f("ix_prescription_patient_id"))

    op.drop_table("prescription")
    with op.batch_alter_table("maintenance_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_maintenance_record_asset_id"))

    op.drop_table("maintenance_record")
    with op.batch_alter_table("diagnosis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnosis_visit_id"))
        batch_op.drop_index(batch_op.f("ix_diagnosis_patient_id"))
        batch_op.drop_index("ix_diagnosis_code")

    op.drop_table("diagnosis")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_supply_request_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("clinical_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clinical_note_visit_id"))
        batch_op.drop_index(batch_op.f("ix_clinical_note_patient_id"))

    op.drop_table("clinical_note")
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_vehicle_date")
        batch_op.drop_index("ix_claim_status")

    op.drop_table("claim")
    with op.batch_alter_table("alert_escalation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_escalation_alert_id"))

    op.drop_table("alert_escalation")
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_vehicle_date")
        batch_op.drop_index("ix_visit_queue")
        batch_op.drop_index("ix_visit_patient")

    op.drop_table("visit")
    with op.batch_alter_table("user_vehicle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_vehicle_vehicle_id"))

    op.drop_table("user_vehicle")
    with op.batch_alter_table("supply_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_request_vehicle_id"))
        batch_op.drop_index("ix_supply_request_status")

    op.drop_table("supply_request")
    with op.batch_alter_table("route", schema=None) as batch_op:
        batch_op.drop_index("ix_route_vehicle_date")

    op.drop_table("route")
    with op.batch_alter_table("patient_duplicate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_duplicate_status"))

    op.drop_table("patient_duplicate")
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_item_expiry")

    op.drop_table("lot")
    op.drop_table("enrollment_token")
    with op.batch_alter_table("device", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_vehicle_id"))

    op.drop_table("device")
    with op.batch_alter_table("asset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_asset_next_maintenance_due"))

    op.drop_table("asset")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_open")
        batch_op.drop_index("ix_alert_dedupe")

    op.drop_table("alert")
    op.drop_table("vehicle")
    with op.batch_alter_table("patient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_registered_vehicle_id"))
        batch_op.drop_index(batch_op.f("ix_patient_passport_number"))
        batch_op.drop_index("ix_patient_name")
        batch_op.drop_index("ix_patient_medical_aid")
        batch_op.drop_index(batch_op.f("ix_patient_id_number"))
        batch_op.drop_index("ix_patient_first_name")
        batch_op.drop_index("ix_patient_birth_name")

    op.drop_table("patient")
    with op.batch_alter_table("location", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_location_name"))

    op.drop_table("location")
    op.drop_table("invite")
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_session_user_id"))

    op.drop_table("web_session")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_role"))

    op.drop_table("user")
    op.drop_table("tariff")
    op.drop_table("sync_subscription")
    with op.batch_alter_table("sync_quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_quarantine_open")

    op.drop_table("sync_quarantine")
    with op.batch_alter_table("sync_nonce", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_nonce_expires")

    op.drop_table("sync_nonce")
    op.drop_table("sync_node")
    op.drop_table("sync_link")
    with op.batch_alter_table("sync_conflict", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_conflict_status")

    op.drop_table("sync_conflict")
    op.drop_table("sync_clock")
    with op.batch_alter_table("sync_change", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_change_scope")
        batch_op.drop_index("ix_sync_change_row")
        batch_op.drop_index("ix_sync_change_node")

    op.drop_table("sync_change")
    with op.batch_alter_table("sync_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_batch_peer")

    op.drop_table("sync_batch")
    op.drop_table("supplier")
    with op.batch_alter_table("revoked_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revoked_token_expires_at"))

    op.drop_table("revoked_token")
    op.drop_table("province")
    op.drop_table("login_state")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_name"))

    op.drop_table("item")
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_record_vehicle_at")
        batch_op.drop_index("ix_audit_record_user_at")
        batch_op.drop_index("ix_audit_record_patient_at")
        batch_op.drop_index("ix_audit_record_at")

    op.drop_table("audit_record")
    op.drop_table("audit_chain")
