"""What the vital-signs API takes and gives."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from edge.vital import ranges

MEASUREMENTS = (
    "systolic",
    "diastolic",
    "pulse",
    "temperature",
    "respiratory_rate",
    "spo2",
    "weight_kg",
    "height_cm",
    "glucose",
)
WHOLE = ("systolic", "diastolic", "pulse", "respiratory_rate", "spo2")


def _measure(name: str) -> fields.Field:
    if name in WHOLE:
        return fields.Integer(load_default=None, allow_none=True, strict=True)
    return fields.Decimal(load_default=None, allow_none=True, places=1, allow_nan=False)


class VitalsIn(Schema):
    """One set of measurements; impossible values are refused field by field."""

    visit_id = fields.String(required=True, validate=validate.Length(1, 36))
    systolic = _measure("systolic")
    diastolic = _measure("diastolic")
    pulse = _measure("pulse")
    temperature = _measure("temperature")
    respiratory_rate = _measure("respiratory_rate")
    spo2 = _measure("spo2")
    weight_kg = _measure("weight_kg")
    height_cm = _measure("height_cm")
    glucose = _measure("glucose")

    @validates_schema
    def possible(self, data: dict[str, Any], **_kwargs: Any) -> None:
        values = {name: data.get(name) for name in MEASUREMENTS}
        if all(v is None for v in values.values()):
            raise ValidationError("Record at least one measurement")
        problems = {
            name: [problem]
            for name, value in values.items()
            if value is not None and (problem := ranges.impossible(name, value)) is not None
        }
        if (data.get("systolic") is None) != (data.get("diastolic") is None):
            problems.setdefault("diastolic", ["Give both systolic and diastolic pressure"])
        elif data.get("systolic") is not None and data["diastolic"] >= data["systolic"]:
            problems.setdefault("diastolic", ["Diastolic pressure must be below systolic"])
        mass_index = ranges.bmi(data.get("weight_kg"), data.get("height_cm"))
        if mass_index is not None and "weight_kg" not in problems and "height_cm" not in problems:
            if ranges.impossible("bmi", mass_index):
                problems["height_cm"] = [f"Weight and height give an impossible BMI ({mass_index})"]
        if problems:
            raise ValidationError(problems)


class VitalsOut(Schema):
    id = fields.String()
    visit_id = fields.String()
    patient_id = fields.String()
    recorded_by = fields.String()
    recorded_at = fields.AwareDateTime()
    systolic = fields.Integer(allow_none=True)
    diastolic = fields.Integer(allow_none=True)
    pulse = fields.Integer(allow_none=True)
    temperature = fields.Decimal(as_string=True, allow_none=True)
    respiratory_rate = fields.Integer(allow_none=True)
    spo2 = fields.Integer(allow_none=True)
    weight_kg = fields.Decimal(as_string=True, allow_none=True)
    height_cm = fields.Decimal(as_string=True, allow_none=True)
    bmi = fields.Decimal(as_string=True, allow_none=True)
    glucose = fields.Decimal(as_string=True, allow_none=True)
    flags = fields.Dict(keys=fields.String(), values=fields.String())
    alert_id = fields.String(allow_none=True)
