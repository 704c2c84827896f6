"""Declarative base, portable column types and the columns every synced row carries."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, MetaData, Numeric, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from schema.rowid import new_id

# Stable constraint names: Alembic batch mode on SQLite and MySQL both need them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 36
NODE_LENGTH = 32
VERSION_LENGTH = 64

# Marks (`info={HUB_ONLY: True}`) an index only head office queries. A database drops
# such indexes when it becomes an edge (`schema.drop_hub_only_indexes`): the edge never
# reads by them, and each is one more page to write, encrypt and authenticate per commit.
HUB_ONLY = "hub_only"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database, microseconds kept on MySQL."""

    impl = DateTime
    cache_ok = True
    sync_kind = "utc_datetime"

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        return value.replace(tzinfo=dt.UTC)


class JSONText(TypeDecorator[Any]):
    """JSON stored as text: the same column type on SQLite, MySQL and MariaDB."""

    impl = Text
    cache_ok = True
    sync_kind = "json"

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), sort_keys=True, default=_json_default)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


Money = Numeric(12, 2)
# Text that may outgrow MySQL's 64 KB TEXT (a batch's quarantine report holds every
# change it refused): MEDIUMTEXT there, up to 16 MB.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SyncedRow:
    """Columns every synced row carries.

    `id` is made where the row is born; `origin_node` says which node that was;
    `version` is the hybrid-logical-clock version of the row's latest write, set on
    every write by the sync layer (a write without a new version is refused).
    """

    id: Mapped[str] = mapped_column(
        String(ID_LENGTH), primary_key=True, default=new_id, sort_order=-10
    )
    origin_node: Mapped[str] = mapped_column(String(NODE_LENGTH), sort_order=10)
    version: Mapped[str] = mapped_column(String(VERSION_LENGTH), sort_order=10)
