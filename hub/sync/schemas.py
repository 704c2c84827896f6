"""Input and output shapes of the hub's sync API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import PageQuery


class EnrollIn(Schema):
    token = fields.String(required=True, validate=validate.Length(min=16, max=128))
    device_id = fields.String(required=True, validate=validate.Length(equal=13))
    public_key = fields.String(required=True, validate=validate.Length(min=40, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    app_version = fields.String(load_default="", validate=validate.Length(max=32))
    key_escrow = fields.String(load_default=None, validate=validate.Length(max=8000))


class TokenIn(Schema):
    hours = fields.Integer(load_default=72, validate=validate.Range(min=1, max=24 * 14))


class ConflictQuery(PageQuery):
    status = fields.String(load_default="open", validate=validate.OneOf(["open", "resolved"]))


class ConflictResolve(Schema):
    """Accept what the sync kept (empty body), put the value it discarded back (`use`:
    `discarded`), or write a chosen list (`value`, for a merged list)."""

    value = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=None)
    use = fields.String(validate=validate.OneOf(["discarded"]), load_default=None)

    @validates_schema
    def one_choice(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("value") is not None and data.get("use") is not None:
            raise ValidationError("Give either a value or use, not both", "use")


class MergeIn(Schema):
    winner_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    loser_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class DeviceOut(Schema):
    id = fields.String()
    vehicle_id = fields.String()
    name = fields.String()
    status = fields.String()
    enrolled_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_seen_at = fields.DateTime(allow_none=True)
    last_sync_at = fields.DateTime(allow_none=True)
    clock_offset_ms = fields.Integer(allow_none=True)
    app_version = fields.String(allow_none=True)
    acknowledged_through = fields.Integer()
    receipt_digest = fields.String()
    quarantined = fields.Integer()
    pending = fields.Integer(metadata={"description": "changes waiting for it at the hub"})
    stored = fields.Integer(
        metadata={"description": "its changes the hub acknowledged and has yet to apply"}
    )


class ConflictOut(Schema):
    id = fields.String()
    table_name = fields.String()
    row_id = fields.String()
    column_name = fields.String()
    local_value = fields.String(allow_none=True)
    remote_value = fields.String(allow_none=True)
    merged_value = fields.String(allow_none=True)
    local_version = fields.String()
    remote_version = fields.String()
    resolution = fields.String(
        metadata={"description": "union (lists merged) or lww (the greater version kept)"}
    )
    status = fields.String()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class QuarantineOut(Schema):
    id = fields.String()
    peer = fields.String()
    table_name = fields.String(allow_none=True)
    row_id = fields.String(allow_none=True)
    reason = fields.String()
    final = fields.Boolean(metadata={"description": "refused for good, not waiting"})
    at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class DuplicateOut(Schema):
    id = fields.String()
    patient_a_id = fields.String()
    patient_b_id = fields.String()
    reason = fields.String()
    detected_at = fields.DateTime()
