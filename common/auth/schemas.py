"""What the auth endpoints take and give."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from common.users.schemas import UserOut

TOKEN = fields.String(validate=validate.Length(1, 4096))
CODE = validate.Regexp(r"^\d{6}$", error="Enter the 6 digits shown by the app")


class LoginBody(Schema):
    username = fields.String(required=True, validate=validate.Length(1, 64))
    password = fields.String(required=True, validate=validate.Length(1, 1024))
    totp = fields.String(load_default=None, validate=CODE)


class LoginForm(LoginBody):
    """The login page's form: blank fields arrive as empty strings."""

    class Meta:
        unknown = EXCLUDE

    totp = fields.String(load_default=None, validate=validate.Regexp(r"^(\d{6})?$"))
    next = fields.String(load_default="", validate=validate.Length(max=2000))


class RefreshBody(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(1, 4096))


class LogoutBody(Schema):
    refresh_token = fields.String(load_default=None, validate=validate.Length(1, 4096))


class TotpEnable(Schema):
    secret = fields.String(required=True, validate=validate.Length(1, 64))
    code = fields.String(required=True, validate=CODE)


class TotpCode(Schema):
    code = fields.String(required=True, validate=CODE)


class PasswordChange(Schema):
    current_password = fields.String(required=True, validate=validate.Length(1, 1024))
    new_password = fields.String(required=True, validate=validate.Length(1, 1024))


class PasswordForm(PasswordChange):
    """The change-password page's form."""

    class Meta:
        unknown = EXCLUDE


class TokensOut(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    refresh_token = fields.String()
    refresh_expires_in = fields.Integer()
    user = fields.Nested(UserOut)


class MeOut(Schema):
    user = fields.Nested(UserOut)
    permissions = fields.List(fields.String())
    vehicle_id = fields.String(allow_none=True)
    authenticated_by = fields.String()
    token_expires_at = fields.AwareDateTime(allow_none=True)
