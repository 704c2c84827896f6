"""What the report endpoints take and give."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

MAX_DAYS = 366
FORMATS = validate.OneOf(["json", "csv"])


class Period(Schema):
    """A period of whole days (default: the 30 days to today), and optionally one vehicle."""

    date_from = fields.Date()
    date_to = fields.Date()
    vehicle_id = fields.String(validate=validate.Length(1, 36))

    @validates_schema
    def sensible(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError("Must not be after date_to", "date_from")
        if start and end and (end - start).days >= MAX_DAYS:
            raise ValidationError(f"At most {MAX_DAYS} days at a time", "date_from")


class ReportQuery(Period):
    format = fields.String(load_default="json", validate=FORMATS)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))
    per_page = fields.Integer(load_default=500, validate=validate.Range(1, 1000))


class VisitExportQuery(ReportQuery):
    per_page = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


def period(query: dict[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
    end = query.get("date_to") or today
    start = query.get("date_from") or end - dt.timedelta(days=29)
    if (end - start).days >= MAX_DAYS:
        raise ValidationError({"date_from": [f"At most {MAX_DAYS} days at a time"]})
    return start, end


class StatsOut(Schema):
    period = fields.Dict()
    vehicles = fields.Dict()
    visits = fields.Dict()
    patients_seen = fields.Integer()
    alerts = fields.Dict()
    claims = fields.Dict(allow_none=True)
