"""What the locations API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery

ID = validate.Length(1, 36)


class LocationOut(Schema):
    id = fields.String()
    province_id = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)


class LocationQuery(PageQuery):
    province_id = fields.String(validate=ID)


class ProvinceOut(Schema):
    id = fields.String()
    code = fields.String()
    name = fields.String()
