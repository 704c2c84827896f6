"""The shared data model of edge and hub, and its one Alembic migration history."""

from __future__ import annotations

from sqlalchemy import Table

from schema import models
from schema.base import Base, SyncedRow
from sync import stamp
from sync.policy import synced_tables as _synced

metadata = Base.metadata

# Every ORM write of a synced row, on any node, gets its origin node and a new version.
stamp.install(SyncedRow)


def synced_tables() -> dict[str, Table]:
    """The synced tables by name, parents before children (the order changes apply in)."""
    return {table.name: table for table in _synced(list(metadata.sorted_tables))}


__all__ = ["Base", "metadata", "models", "synced_tables"]
