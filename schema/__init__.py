"""The shared data model of edge and hub, and its one Alembic migration history."""

from __future__ import annotations

from sqlalchemy import Connection, Index, Table
from sqlalchemy.schema import DropIndex

from schema import models
from schema.base import HUB_ONLY, Base, SyncedRow
from sync import stamp
from sync.policy import synced_tables as _synced

metadata = Base.metadata

# Every ORM write of a synced row, on any node, gets its origin node and a new version.
stamp.install(SyncedRow)


def synced_tables() -> dict[str, Table]:
    """The synced tables by name, parents before children (the order changes apply in)."""
    return {table.name: table for table in _synced(list(metadata.sorted_tables))}


def hub_only_indexes() -> list[Index]:
    """The indexes marked `HUB_ONLY`: head office's audit search and the change log by
    scope (what the hub sends each vehicle)."""
    return [
        index
        for table in metadata.sorted_tables
        for index in sorted(table.indexes, key=lambda index: str(index.name))
        if index.info.get(HUB_ONLY)
    ]


def drop_hub_only_indexes(connection: Connection) -> None:
    """Drop the hub-only indexes from an edge's database. Every read on the edge writes
    an audit record and logs it as a change, and these five indexes were five of the
    15-20 pages that commit wrote, each encrypted and authenticated by SQLCipher."""
    for index in hub_only_indexes():
        connection.execute(DropIndex(index, if_exists=True))


__all__ = [
    "Base",
    "drop_hub_only_indexes",
    "hub_only_indexes",
    "metadata",
    "models",
    "synced_tables",
]
