"""What the clinical-notes API takes and gives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class NoteIn(Schema):
    visit_id = fields.String(required=True, validate=validate.Length(1, 36))
    body = fields.String(required=True, validate=validate.Length(1, 20_000))


class NoteOut(Schema):
    id = fields.String()
    visit_id = fields.String()
    patient_id = fields.String()
    stage = fields.String()
    kind = fields.String()
    body = fields.String()
    author_id = fields.String()
    created_at = fields.AwareDateTime()
