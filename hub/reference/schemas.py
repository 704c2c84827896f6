"""What the reference-data API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery

ITEM_KINDS = ("medicine", "consumable")
TARIFF_KINDS = ("consultation", "procedure", "medicine", "other")
NAPPI = validate.Regexp(r"^\d{6,13}$", error="A NAPPI code is 6 to 13 digits")


class Partial(Schema):
    """An update: only the fields given change, and at least one must be given."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(partial=True, **kwargs)

    @validates_schema
    def something_to_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change")


class ItemIn(Schema):
    nappi_code = fields.String(load_default=None, allow_none=True, validate=NAPPI)
    name = fields.String(required=True, validate=validate.Length(1, 160))
    kind = fields.String(required=True, validate=validate.OneOf(ITEM_KINDS))
    strength = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    unit = fields.String(required=True, validate=validate.Length(1, 24))
    pack_size = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    tariff_price = fields.Decimal(
        places=2, load_default=None, allow_none=True, validate=validate.Range(0, 9_999_999)
    )
    reorder_level = fields.Integer(load_default=0, validate=validate.Range(0, 1_000_000))
    active = fields.Boolean(load_default=True)


class ItemUpdate(Partial, ItemIn):
    pass


class ItemOut(Schema):
    id = fields.String()
    nappi_code = fields.String(allow_none=True)
    name = fields.String()
    kind = fields.String()
    strength = fields.String(allow_none=True)
    unit = fields.String()
    pack_size = fields.Integer()
    tariff_price = fields.Decimal(places=2, as_string=True, allow_none=True)
    reorder_level = fields.Integer()
    active = fields.Boolean()


class ItemQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 64))
    kind = fields.String(validate=validate.OneOf(ITEM_KINDS))
    active = fields.Boolean()


class TariffIn(Schema):
    code = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9A-Z.-]{1,16}$", error="1-16 of 0-9 A-Z . -")
    )
    description = fields.String(required=True, validate=validate.Length(1, 255))
    kind = fields.String(required=True, validate=validate.OneOf(TARIFF_KINDS))
    amount = fields.Decimal(places=2, required=True, validate=validate.Range(0, 9_999_999))
    active = fields.Boolean(load_default=True)


class TariffUpdate(Partial, TariffIn):
    pass


class TariffOut(Schema):
    id = fields.String()
    code = fields.String()
    description = fields.String()
    kind = fields.String()
    amount = fields.Decimal(places=2, as_string=True)
    active = fields.Boolean()


class TariffQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 64))
    active = fields.Boolean()


class ProvinceIn(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2,8}$"))
    name = fields.String(required=True, validate=validate.Length(1, 64))


class ProvinceOut(ProvinceIn):
    id = fields.String()


class LocationIn(Schema):
    province_id = fields.String(required=True, validate=validate.Length(1, 36))
    name = fields.String(required=True, validate=validate.Length(1, 120))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 500))
    latitude = fields.Decimal(
        places=6, load_default=None, allow_none=True, validate=validate.Range(-90, 90)
    )
    longitude = fields.Decimal(
        places=6, load_default=None, allow_none=True, validate=validate.Range(-180, 180)
    )


class LocationUpdate(Partial, LocationIn):
    pass


class LocationOut(Schema):
    id = fields.String()
    province_id = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    latitude = fields.Decimal(places=6, as_string=True, allow_none=True)
    longitude = fields.Decimal(places=6, as_string=True, allow_none=True)


class LocationQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 64))
    province_id = fields.String(validate=validate.Length(1, 36))
