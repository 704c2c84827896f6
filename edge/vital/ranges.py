"""Adult reference ranges for vital signs: what is impossible, abnormal and critical.

Impossible values are typing errors and are refused; abnormal values are flagged for the
clinician; critical values also raise an alert for the crew. The figures follow common
adult early-warning practice (NEWS2) and are deliberately conservative.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LOW, HIGH = "low", "high"
CRITICAL_LOW, CRITICAL_HIGH = "critical_low", "critical_high"


@dataclass(frozen=True)
class Range:
    label: str
    unit: str
    possible: tuple[Decimal, Decimal]
    normal: tuple[Decimal, Decimal]
    critical: tuple[Decimal | None, Decimal | None]  # below / above these is critical

    def flag(self, value: Decimal) -> str | None:
        low, high = self.critical
        if low is not None and value < low:
            return CRITICAL_LOW
        if high is not None and value > high:
            return CRITICAL_HIGH
        if value < self.normal[0]:
            return LOW
        if value > self.normal[1]:
            return HIGH
        return None


Limits = tuple[float | None, float | None]


def _range(label: str, unit: str, possible: Limits, normal: Limits, critical: Limits) -> Range:
    def dec(pair: Limits) -> tuple[Decimal, Decimal]:
        return tuple(None if v is None else Decimal(str(v)) for v in pair)  # type: ignore[return-value]

    return Range(label, unit, dec(possible), dec(normal), dec(critical))


NONE: Limits = (None, None)
RANGES: dict[str, Range] = {
    "systolic": _range("Systolic BP", "mmHg", (40, 300), (90, 139), (80, 179)),
    "diastolic": _range("Diastolic BP", "mmHg", (20, 200), (60, 89), (40, 119)),
    "pulse": _range("Pulse", "/min", (20, 250), (60, 100), (40, 130)),
    "temperature": _range("Temperature", "°C", (30, 45), (36.1, 37.5), (35, 39.5)),
    "respiratory_rate": _range("Respiratory rate", "/min", (4, 80), (12, 20), (8, 30)),
    "spo2": _range("SpO2", "%", (50, 100), (95, 100), (90, None)),
    "weight_kg": _range("Weight", "kg", (0.5, 350), (0.5, 350), NONE),
    "height_cm": _range("Height", "cm", (30, 250), (30, 250), NONE),
    "glucose": _range("Glucose", "mmol/L", (1, 50), (3.9, 7.8), (3.0, 20)),
    "bmi": _range("BMI", "kg/m²", (5, 150), (18.5, 29.9), NONE),
}


def impossible(name: str, value: Decimal) -> str | None:
    """Why `value` cannot be a real measurement of `name`, or None."""
    low, high = RANGES[name].possible
    if not low <= value <= high:
        return f"{RANGES[name].label} must be between {low} and {high} {RANGES[name].unit}"
    return None


def bmi(weight_kg: Decimal | None, height_cm: Decimal | None) -> Decimal | None:
    """Body-mass index to one decimal, when both measurements are there (a height of zero
    or less has none: the range check refuses it)."""
    if weight_kg is None or height_cm is None or height_cm <= 0:
        return None
    metres = height_cm / 100
    return (weight_kg / (metres * metres)).quantize(Decimal("0.1"))


def flags(values: dict[str, Decimal | None]) -> dict[str, str]:
    """The abnormal measurements and how: {"systolic": "critical_high", ...}."""
    found = {}
    for name, value in values.items():
        if value is not None and name in RANGES:
            flag = RANGES[name].flag(value)
            if flag is not None:
                found[name] = flag
    return found


def is_critical(flag: str) -> bool:
    return flag in (CRITICAL_LOW, CRITICAL_HIGH)
