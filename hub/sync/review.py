"""What the sync resolved or held back, for a person at head office to look at: a
vehicle-scoped caller sees what concerns their vehicles (the merged patients they know,
their devices' quarantined changes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

import schema
from common.access import Actor
from common.errors import BadRequest, Conflict, NotFound
from hub.scope import Reach, reach
from schema.base import utcnow
from schema.models import Device, SyncConflict, SyncQuarantine
from sync import codec
from sync.hub import HubExchange

OPEN = "open"
LWW = "lww"  # a merge by version: the greater version's value kept, the other discarded


def conflicts(
    session: Session, who: Actor | Reach, status: str, page: int, per_page: int
) -> tuple[list[SyncConflict], int]:
    query = _in_reach(reach(session, who), select(SyncConflict))
    query = query.where(SyncConflict.status == status)
    return _page(session, query, SyncConflict.created_at, page, per_page)


@dataclass(frozen=True)
class Choice:
    """What a reviewer puts in place of what the sync kept: a list of their own for a
    merged list (`value`), the value the sync discarded (`discarded`), or nothing."""

    value: list[str] | None = None
    discarded: bool = False


def resolve(
    session: Session,
    who: Actor | Reach,
    conflict_id: str,
    actor_id: str | None,
    choice: Choice = Choice(),
) -> SyncConflict:
    """Close a conflict; with a choice, write it to the row first (a new hub version, so
    it reaches every vehicle that holds the row)."""
    query = _in_reach(reach(session, who), select(SyncConflict))
    conflict = session.scalar(query.where(SyncConflict.id == conflict_id).with_for_update())
    if conflict is None:
        raise NotFound("No such conflict")
    if conflict.status != OPEN:
        raise Conflict("This conflict is already resolved")
    if choice.discarded:
        _overwrite(session, conflict, _discarded(conflict))
    elif choice.value is not None:
        _overwrite(session, conflict, choice.value)
    conflict.status = "resolved"
    conflict.resolved_by, conflict.resolved_at = actor_id, utcnow()
    return conflict


def _discarded(conflict: SyncConflict) -> Any:
    """The value the sync did not keep, as the column holds it: of a merge by version, the
    one of the two that is not the merged one (a merged list discards nothing)."""
    if conflict.resolution != LWW:
        raise BadRequest("A merged list discarded no value: give the list to keep instead")
    kept = conflict.merged_value
    raw = conflict.remote_value if kept == conflict.local_value else conflict.local_value
    column = schema.metadata.tables[conflict.table_name].c[conflict.column_name]
    return codec.decoder(column)(json.loads(raw) if raw is not None else None)


def _overwrite(session: Session, conflict: SyncConflict, value: Any) -> None:
    mapper = next(
        (m for m in schema.Base.registry.mappers if m.local_table.name == conflict.table_name),
        None,
    )
    if mapper is None:
        raise BadRequest("This conflict's table cannot be edited here")
    row: Any = session.get(mapper.class_, conflict.row_id)
    if row is None:
        raise NotFound("The record of this conflict no longer exists")
    setattr(row, conflict.column_name, value)
    column = mapper.local_table.c[conflict.column_name]
    conflict.merged_value = json.dumps(codec.encode(column, value))
    session.flush()


def clock_offsets(session: Session) -> dict[str, int]:
    """Each device's last measured clock offset from the hub (ms), to judge its edits."""
    rows = session.execute(select(Device.id, Device.clock_offset_ms)).all()
    return {device: offset for device, offset in rows if offset}


def quarantined(
    session: Session, who: Actor | Reach, status: str, page: int, per_page: int
) -> tuple[list[SyncQuarantine], int]:
    query = reach(session, who).devices(select(SyncQuarantine), SyncQuarantine.peer)
    if status == OPEN:
        query = query.where(SyncQuarantine.resolved_at.is_(None))
    else:
        query = query.where(SyncQuarantine.resolved_at.is_not(None))
    return _page(session, query, SyncQuarantine.at, page, per_page)


def held(session: Session, who: Actor | Reach, held_id: str) -> SyncQuarantine:
    """One open held change the caller may see, locked for a decision on it."""
    query = reach(session, who).devices(select(SyncQuarantine), SyncQuarantine.peer)
    found = session.scalar(query.where(SyncQuarantine.id == held_id).with_for_update())
    if found is None:
        raise NotFound("No such held change")
    if found.resolved_at is not None:
        raise Conflict("This held change is already resolved")
    return found


def retry(
    session: Session, who: Actor | Reach, held_id: str, exchange: HubExchange
) -> SyncQuarantine:
    """Apply a held change now through the hub's sync engine (its own transaction); the
    held change as it is then: resolved, or with the reason it still cannot apply."""
    peer = held(session, who, held_id).peer
    session.rollback()  # the apply locks the row in a transaction of its own
    exchange.retry(peer, held_id)
    return session.get_one(SyncQuarantine, held_id, populate_existing=True)


def dismiss(session: Session, row: SyncQuarantine, actor_id: str | None) -> SyncQuarantine:
    """Head office decides a held change is not to be applied: it leaves the open list
    (and the vehicle's count of its changes waiting), kept as resolved by that person."""
    row.resolved_at, row.resolved_by = utcnow(), actor_id
    return row


def _in_reach(within: Reach, query: Select[Any]) -> Select[Any]:
    """Conflicts on rows the caller's vehicles know (only patients have merged fields)."""
    if within.fleet:
        return query
    query = query.where(SyncConflict.table_name == "patient")
    return within.patients(query, SyncConflict.row_id)


def _page(
    session: Session, query: Any, order: Any, page: int, per_page: int
) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(order).offset((page - 1) * per_page).limit(per_page))
    return list(rows.all()), total
