"""A database's identity as a sync node: which node it is and which vehicle it serves."""

from __future__ import annotations

import secrets

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from schema import drop_hub_only_indexes
from schema.base import utcnow
from schema.models import SyncNode, Vehicle

HUB_NODE_ID = "hub"


def new_device_id() -> str:
    """A short random node id for a vehicle laptop (`d` + 12 hex digits)."""
    return "d" + secrets.token_hex(6)


def ensure_node(session: Session, node_id: str, kind: str) -> SyncNode:
    """The node row, created on first use; an existing identity is never replaced. A
    database becoming an edge drops the indexes only head office reads."""
    node = session.scalar(select(SyncNode))
    if node is None:
        node = SyncNode(id=node_id, kind=kind, created_at=utcnow())
        session.add(node)
        session.flush()
        if kind == "edge":
            drop_hub_only_indexes(session.connection())
    return node


# The session remembers its node: nearly every request reads it three times or more
# (authentication, the vehicle scope, the audit trail), and the session's identity map
# holds objects only weakly, so each read would otherwise be a query of its own.
_NODE = "clinic.node"


def this_node(session: Session) -> SyncNode | None:
    """The database's node row. Its id never changes, so the session keeps the row and
    reads it again only when a commit or rollback has expired it (`Session.get`)."""
    held = _held_id(session)
    if held is not None:
        node = session.get(SyncNode, held)
        if node is not None:
            return node
    node = session.scalar(select(SyncNode))
    if node is not None:
        session.info[_NODE] = node
    return node


def remember(session: Session, node: SyncNode | None) -> None:
    """Keep `node`, read by a query of the caller's own, as the session's node."""
    if node is not None:
        session.info[_NODE] = node


def this_node_id(session: Session) -> str | None:
    """The node's id, without reading the row again once the session knows it."""
    held = _held_id(session)
    if held is not None:
        return held
    node = this_node(session)
    return node.id if node is not None else None


def _held_id(session: Session) -> str | None:
    """The id of the row the session keeps, if it has one that was ever stored."""
    held = session.info.get(_NODE)
    identity = inspect(held).identity if held is not None else None
    return str(identity[0]) if identity else None


def bind_vehicle(session: Session, vehicle: Vehicle) -> SyncNode:
    """Make this node the edge of `vehicle`: its users may log in here from now on."""
    node = this_node(session)
    if node is None:
        raise RuntimeError("this database has no node identity; initialise it first")
    node.vehicle_id = vehicle.id
    session.flush()
    return node
