"""The shared data model of edge and hub, and its one Alembic migration history."""

from schema import models
from schema.base import Base, SyncedRow
from sync import stamp

metadata = Base.metadata

# Every ORM write of a synced row, on any node, gets its origin node and a new version.
stamp.install(SyncedRow)

__all__ = ["Base", "metadata", "models"]
