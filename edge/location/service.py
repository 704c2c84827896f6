"""Provinces and the places (stops) a vehicle holds clinics at."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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


def view(location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "province_id": location.province_id,
        "name": location.name,
        "address": location.address,
        "latitude": location.latitude,
        "longitude": location.longitude,
    }
