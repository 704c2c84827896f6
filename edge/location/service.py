"""Provinces and the places (stops) a vehicle holds clinics at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import NotFound
from edge.scope import page_of
from schema.models import Location, Province


def provinces(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(Province).order_by(Province.name)).all()
    return [{"id": p.id, "code": p.code, "name": p.name} for p in rows]


def list_locations(
    session: Session, province_id: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(Location).order_by(Location.name)
    if province_id:
        query = query.where(Location.province_id == province_id)
    rows, total = page_of(session, query, page, per_page)
    return [view(row) for row in rows], total


def add_location(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    """A new stop; locations are shared by every vehicle (a town is visited by several)."""
    if session.get(Province, data["province_id"]) is None:
        raise NotFound(f"Province {data['province_id']} not found")
    location = Location(**data)
    session.add(location)
    session.flush()
    audit.record(
        session, actor, "location_created", resource_type="location", resource_id=location.id
    )
    session.commit()
    return view(location)


def view(location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "province_id": location.province_id,
        "name": location.name,
        "address": location.address,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }
