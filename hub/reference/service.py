"""Head office's reference data: the formulary, the tariff table, provinces and locations.

Every vehicle receives these by sync (they are reference tables, captured by triggers on
write). Codes that identify a row (NAPPI code, tariff code, province code) are unique;
a clash is a 409 before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict, NotFound
from hub import csvfile
from schema.models import Item, Location, Province, Tariff

T = TypeVar("T", Item, Tariff, Province, Location)

# The column that identifies a row of each kind, besides its id.
_UNIQUE: dict[type[Any], str] = {Item: "nappi_code", Tariff: "code", Province: "code"}

FORMULARY_COLUMNS = (
    "nappi_code",
    "name",
    "kind",
    "strength",
    "unit",
    "pack_size",
    "tariff_price",
    "reorder_level",
    "active",
)


def add(session: Session, actor: Actor, model: type[T], data: Mapping[str, Any]) -> T:
    """A new row of reference data, audited, committed."""
    _check(session, model, data, None)
    row = model(**data)
    session.add(row)
    return _saved(session, actor, row, "created")


def change(
    session: Session, actor: Actor, model: type[T], row_id: str, changes: Mapping[str, Any]
) -> T:
    """Change the given fields of a row of reference data."""
    row = find(session, model, row_id)
    _check(session, model, changes, row_id)
    for name, value in changes.items():
        setattr(row, name, value)
    return _saved(session, actor, row, "updated", sorted(changes))


def find(session: Session, model: type[T], row_id: str) -> T:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"No such {model.__tablename__}")
    return row


def page_of(
    session: Session, query: Select[Any], page: int, per_page: int
) -> tuple[list[Any], int]:
    """One page of a listing query, and how many rows match in all."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def items(q: str | None, kind: str | None, active: bool | None) -> Select[Any]:
    query = select(Item).order_by(Item.name, Item.id)
    if q:
        like = or_(Item.name.contains(q, autoescape=True), Item.nappi_code.startswith(q))
        query = query.where(like)
    if kind:
        query = query.where(Item.kind == kind)
    if active is not None:
        query = query.where(Item.active == active)
    return query


def tariffs(q: str | None, active: bool | None) -> Select[Any]:
    query = select(Tariff).order_by(Tariff.code)
    if q:
        query = query.where(
            or_(Tariff.code.startswith(q), Tariff.description.contains(q, autoescape=True))
        )
    if active is not None:
        query = query.where(Tariff.active == active)
    return query


def provinces() -> Select[Any]:
    return select(Province).order_by(Province.name, Province.id)


def locations(q: str | None, province_id: str | None) -> Select[Any]:
    query = select(Location).order_by(Location.name, Location.id)
    if q:
        query = query.where(Location.name.contains(q, autoescape=True))
    if province_id:
        query = query.where(Location.province_id == province_id)
    return query


def import_formulary(session: Session, actor: Actor, parsed: csvfile.Parsed) -> dict[str, int]:
    """Add or update formulary items from CSV rows (matched by NAPPI code, or by name for
    items without one); any bad row and none is written."""
    _check_repeats(parsed)
    parsed.reject()
    counts = {"created": 0, "updated": 0}
    for _line, data in parsed.rows:
        item = _matching_item(session, data)
        if item is None:
            session.add(Item(**data))
            counts["created"] += 1
        else:
            for name, value in data.items():
                setattr(item, name, value)
            counts["updated"] += 1
    try:
        session.flush()
    except IntegrityError:  # another import added the same NAPPI code meanwhile
        session.rollback()
        raise Conflict("The formulary changed while importing; nothing was imported") from None
    audit.record(session, actor, "formulary_imported", resource_type="item", detail=counts)
    session.commit()
    return counts


def export_formulary(session: Session) -> str:
    rows = session.scalars(select(Item).order_by(Item.name, Item.id))
    return csvfile.write(
        FORMULARY_COLUMNS, ([getattr(i, c) for c in FORMULARY_COLUMNS] for i in rows)
    )


def _check_repeats(parsed: csvfile.Parsed) -> None:
    first: dict[str, int] = {}
    for line, data in parsed.rows:
        key = data.get("nappi_code") or "name:" + data["name"].lower()
        if key in first:
            parsed.error(line, "nappi_code", f"The same item is on line {first[key]}")
        first.setdefault(key, line)


def _matching_item(session: Session, data: Mapping[str, Any]) -> Item | None:
    if data.get("nappi_code"):
        return session.scalar(select(Item).where(Item.nappi_code == data["nappi_code"]))
    return session.scalar(
        select(Item).where(Item.nappi_code.is_(None), Item.name == data["name"]).limit(1)
    )


def _check(session: Session, model: type[Any], data: Mapping[str, Any], row_id: str | None) -> None:
    column_name = _UNIQUE.get(model)
    value = data.get(column_name) if column_name else None
    if column_name and value is not None:
        column = getattr(model, column_name)
        clash = select(model.id).where(column == value)
        if row_id is not None:
            clash = clash.where(model.id != row_id)
        if session.scalar(clash.limit(1)) is not None:
            raise Conflict(f"Another {model.__tablename__} already has {column_name} {value}")
    if model is Location and "province_id" in data:
        if session.get(Province, data["province_id"]) is None:
            raise BadRequest("Invalid input", details={"province_id": ["No such province"]})


def _saved(
    session: Session, actor: Actor, row: T, verb: str, changed: list[str] | None = None
) -> T:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"This {row.__tablename__} clashes with one that exists") from None
    detail = {"changed": changed} if changed else None
    audit.record(
        session,
        actor,
        f"{row.__tablename__}_{verb}",
        resource_type=row.__tablename__,
        resource_id=row.id,
        detail=detail,
    )
    session.commit()
    return row
