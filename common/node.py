"""A database's identity as a sync node: which node it is and which vehicle it serves."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from schema.base import utcnow
from schema.models import SyncNode, Vehicle

HUB_NODE_ID = "hub"


def new_device_id() -> str:
    """A short random node id for a vehicle laptop (`d` + 12 hex digits)."""
    return "d" + secrets.token_hex(6)


def ensure_node(session: Session, node_id: str, kind: str) -> SyncNode:
    """The node row, created on first use; an existing identity is never replaced."""
    node = session.scalar(select(SyncNode))
    if node is None:
        node = SyncNode(id=node_id, kind=kind, created_at=utcnow())
        session.add(node)
        session.flush()
    return node


def this_node(session: Session) -> SyncNode | None:
    return session.scalar(select(SyncNode))


def bind_vehicle(session: Session, vehicle: Vehicle) -> SyncNode:
    """Make this node the edge of `vehicle`: its users may log in here from now on."""
    node = this_node(session)
    if node is None:
        raise RuntimeError("this database has no node identity; initialise it first")
    node.vehicle_id = vehicle.id
    session.flush()
    return node
