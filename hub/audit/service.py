"""Searching and exporting the audit trail of every node, at head office (a caller who
is not fleet-wide would see only the records of their vehicles)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from hub.scope import Reach, reach
from schema.models import AuditRecord

EXPORT_COLUMNS = (
    "at",
    "origin_node",
    "chain_seq",
    "user_id",
    "username",
    "role",
    "action",
    "outcome",
    "resource_type",
    "resource_id",
    "patient_id",
    "vehicle_id",
    "client_addr",
    "user_agent",
    "detail",
    "retention_until",
    "hash",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    user: str | None = None
    patient: str | None = None
    action: str | None = None
    vehicle: str | None = None
    outcome: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def search(
    session: Session, who: Actor | Reach, wanted: AuditFilter, page: int, per_page: int
) -> tuple[list[AuditRecord], int]:
    """One page of matching records, newest first, and how many match in all."""
    query = _filtered(reach(session, who), wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(_newest_first(query).limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), total


def export(session: Session, actor: Actor, wanted: AuditFilter) -> Iterator[str]:
    """The matching records as CSV text to stream; the export is audited before it starts."""
    filters = {k: str(v) for k, v in vars(wanted).items() if v is not None}
    within = reach(session, actor)
    audit.record_read(session, actor, "audit_record", None, action="export", detail=filters)
    return _csv(session, within, wanted)


def _csv(session: Session, within: Reach, wanted: AuditFilter) -> Iterator[str]:
    query = _newest_first(_filtered(within, wanted)).execution_options(yield_per=1000)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for count, record in enumerate(session.scalars(query), start=1):
        writer.writerow([_cell(record, name) for name in EXPORT_COLUMNS])
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _filtered(within: Reach, wanted: AuditFilter) -> Select[Any]:
    query = within.where(select(AuditRecord), AuditRecord.vehicle_id)
    if wanted.user:
        query = query.where(
            or_(AuditRecord.user_id == wanted.user, AuditRecord.username == wanted.user)
        )
    for column, value in (
        (AuditRecord.patient_id, wanted.patient),
        (AuditRecord.action, wanted.action),
        (AuditRecord.vehicle_id, wanted.vehicle),
        (AuditRecord.outcome, wanted.outcome),
    ):
        if value:
            query = query.where(column == value)
    if wanted.since is not None:
        query = query.where(AuditRecord.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(AuditRecord.at < wanted.until)
    return query


def _newest_first(query: Select[Any]) -> Select[Any]:
    return query.order_by(AuditRecord.at.desc(), AuditRecord.id.desc())


def _cell(record: AuditRecord, name: str) -> str:
    value = getattr(record, name)
    if value is None:
        return ""
    if name == "detail":
        return json.dumps(value, sort_keys=True)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    # A spreadsheet would run a cell starting like a formula: keep it text.
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
