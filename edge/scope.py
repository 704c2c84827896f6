"""What every vehicle-operations service needs: the actor's vehicle, and a page of rows."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from common.access import Actor
from common.errors import Conflict, NotFound

T = TypeVar("T")

NOT_ENROLLED = "This laptop is not enrolled to a vehicle yet"


def vehicle_of(actor: Actor) -> str:
    """The vehicle an edge actor works on: every read and write is scoped to it."""
    if actor.vehicle_id is None:
        raise Conflict(NOT_ENROLLED)
    return actor.vehicle_id


def owned(session: Session, model: type[T], row_id: str, vehicle_id: str, noun: str) -> T:
    """A row of this vehicle; another vehicle's row is as absent as a missing one (404)."""
    row = session.get(model, row_id)
    if row is None or getattr(row, "vehicle_id", None) != vehicle_id:
        raise NotFound(f"{noun} {row_id} not found")
    return row


def page_of(
    session: Session, query: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int]:
    """One page of `query`'s rows and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return [row[0] if len(row) == 1 else row for row in rows], total
