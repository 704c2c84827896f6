"""Row counts of every table: for tests that prove a refused request changed nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, Select, Table, func, select

import schema

AUDIT_TABLES = ("audit_record", "audit_chain", "audit_seal")


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
    return _outside(table, skipped, select(func.count()).select_from(table))


def _outside(table: Table, skipped: set[str], query: Select[Any]) -> Select[Any]:
    """`query` without the change-log entries of skipped tables (capturing a write is
    part of the write)."""
    if table.name == "sync_change" and skipped:
        query = query.where(table.c.table_name.not_in(skipped))
    return query


def digest(engine: Engine, ignore: Iterable[str] = ()) -> dict[str, str]:
    """A SHA-256 over each table's rows (except `ignore` and their change-log entries), in
    primary-key order: equal
    digests mean a rejected input changed nothing at all, and a difference names the
    tables that moved."""
    skipped = set(ignore)
    hashes = {}
    with engine.connect() as connection:
        for table in schema.metadata.sorted_tables:
            if table.name in skipped:
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            hasher = hashlib.sha256()
            query = _outside(table, skipped, select(table).order_by(*order))
            for row in connection.execute(query):
                hasher.update(repr(tuple(row)).encode())
            hashes[table.name] = hasher.hexdigest()
    return hashes


def moved(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The tables whose digest differs."""
    return sorted(name for name in before if before[name] != after.get(name))
