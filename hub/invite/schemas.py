"""What the invitations API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from common.api import PageQuery
from common.users.schemas import ROLES, VEHICLE_ID, UserOut


class InviteCreate(Schema):
    username = fields.String(required=True, validate=validate.Length(3, 64))
    full_name = fields.String(required=True, validate=validate.Length(1, 120))
    role = fields.String(required=True, validate=ROLES)
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=255))
    vehicle_ids = fields.List(VEHICLE_ID, load_default=list, validate=validate.Length(max=100))


class InviteAccept(Schema):
    token = fields.String(required=True, validate=validate.Length(20, 200))
    password = fields.String(required=True, validate=validate.Length(1, 1024))


class InviteQuery(PageQuery):
    pending = fields.Boolean(load_default=True)


class InviteOut(Schema):
    id = fields.String()
    user_id = fields.String()
    username = fields.String()
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    accepted_at = fields.AwareDateTime(allow_none=True)
    withdrawn_at = fields.AwareDateTime(allow_none=True)


class InviteIssued(Schema):
    invite = fields.Nested(InviteOut)
    user = fields.Nested(UserOut)
    token = fields.String(metadata={"description": "shown once: send it to the new user"})
    accept_url = fields.String()
