"""Alembic environment: always runs on a connection handed in by `schema.migrate`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.operations import ops

import schema
from schema.base import JSONText, UTCDateTime

config = context.config


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy types, so migrations do not change
    when the Python-side conversions do."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from sqlalchemy.dialects import mysql")
        return 'sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")'
    if type_ == "type" and isinstance(obj, JSONText):
        return "sa.Text()"
    return False


def drop_table_info(context: Any, revision: Any, directives: list[Any]) -> None:
    """Sync policies live in the models' table info; migrations need only the DDL."""
    for directive in directives:
        for op in directive.upgrade_ops.ops:
            if isinstance(op, ops.CreateTableOp):
                op.info = {}


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through schema.migrate, which supplies a connection")
    context.configure(
        connection=connection,
        target_metadata=schema.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
        process_revision_directives=drop_table_info,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
