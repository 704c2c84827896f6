"""Row counts of every table: for tests that prove a refused request changed nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import Engine, Table, func, select

import schema

AUDIT_TABLES = ("audit_record", "audit_chain")


def row_counts(engine: Engine, ignore: Iterable[str] = ()) -> dict[str, int]:
    """How many rows each table holds, except those in `ignore` and the change-log
    entries that record writes to them (capturing a write is part of the write)."""
    skipped = set(ignore)
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(_count(table, skipped)) or 0
            for table in schema.metadata.sorted_tables
            if table.name not in skipped
        }


def _count(table: Table, skipped: set[str]) -> object:
    query = select(func.count()).select_from(table)
    if table.name == "sync_change" and skipped:
        query = query.where(table.c.table_name.not_in(skipped))
    return query


def digest(engine: Engine, ignore: Iterable[str] = ()) -> str:
    """A SHA-256 over every row of every table (except `ignore`), in primary-key order:
    equal digests mean a rejected input changed nothing at all."""
    skipped = set(ignore)
    hasher = hashlib.sha256()
    with engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            if table.name in skipped:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            hasher.update(table.name.encode())
            for row in connection.execute(select(table).order_by(*order)):
                hasher.update(repr(tuple(row)).encode())
    return hasher.hexdigest()
