"""Row counts of every table: for tests that prove a refused request changed nothing."""

from __future__ import annotations

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
