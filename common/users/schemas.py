"""What the users API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery
from common.permission import Role

ROLES = validate.OneOf([role.value for role in Role])
VEHICLE_ID = fields.String(validate=validate.Length(1, 36))


class UserOut(Schema):
    id = fields.String()
    username = fields.String()
    full_name = fields.String()
    email = fields.String(allow_none=True)
    role = fields.String()
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    totp_enabled = fields.Boolean()
    created_at = fields.AwareDateTime()
    vehicle_ids = fields.List(fields.String())
    emergency = fields.Boolean(
        metadata={"description": "made on a vehicle's laptop: signs in there only"}
    )
    made_on = fields.String(allow_none=True, metadata={"description": "that laptop's device id"})


class UserQuery(PageQuery):
    q = fields.String(validate=validate.Length(1, 64))
    role = fields.String(validate=ROLES)
    active = fields.Boolean()


class UserCreate(Schema):
    username = fields.String(required=True, validate=validate.Length(3, 64))
    full_name = fields.String(required=True, validate=validate.Length(1, 120))
    role = fields.String(required=True, validate=ROLES)
    password = fields.String(required=True, validate=validate.Length(1, 1024))
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=255))
    vehicle_ids = fields.List(VEHICLE_ID, load_default=list, validate=validate.Length(max=100))


class UserUpdate(Schema):
    full_name = fields.String(validate=validate.Length(1, 120))
    email = fields.Email(allow_none=True, validate=validate.Length(max=255))
    role = fields.String(validate=ROLES)
    password = fields.String(validate=validate.Length(1, 1024))
    active = fields.Boolean()

    @validates_schema
    def something_to_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change")


class Assignment(Schema):
    vehicle_id = fields.String(required=True, validate=validate.Length(1, 36))


class PasswordResetOut(Schema):
    user = fields.Nested(UserOut)
    temporary_password = fields.String()
