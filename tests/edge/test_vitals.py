"""Vital signs: range checks, flags, BMI, and the alert a critical value raises."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from common.database import new_session
from edge.vital import ranges
from schema.models import Alert
from tests.support.clinic import Clinic


@pytest.mark.parametrize(
    ("name", "value", "flag"),
    [
        ("systolic", 120, None),
        ("systolic", 150, "high"),
        ("systolic", 190, "critical_high"),
        ("systolic", 75, "critical_low"),
        ("pulse", 55, "low"),
        ("temperature", Decimal("40.1"), "critical_high"),
        ("spo2", 93, "low"),
        ("spo2", 85, "critical_low"),
        ("glucose", Decimal("2.5"), "critical_low"),
        ("respiratory_rate", 16, None),
    ],
)
def test_flags(name: str, value: Any, flag: str | None) -> None:
    assert ranges.flags({name: value}).get(name) == flag


def test_bmi_is_derived() -> None:
    assert ranges.bmi(Decimal("70"), Decimal("175")) == Decimal("22.9")
    assert ranges.bmi(Decimal("70"), None) is None


def test_normal_vitals_are_saved_with_bmi_and_no_alert(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    body = {
        "visit_id": visit,
        "systolic": 150,
        "diastolic": 85,
        "pulse": 72,
        "temperature": 36.8,
        "weight_kg": 70,
        "height_cm": 175,
        "spo2": 98,
    }
    saved = clinic.ok("POST", "nurse", "/api/vital-signs", body)
    assert saved["bmi"] == "22.9" and saved["flags"] == {"systolic": "high"}
    assert saved["alert_id"] is None
    listed = clinic.ok("GET", "doctor", f"/api/vital-signs/{visit}")
    assert [v["id"] for v in listed] == [saved["id"]]


def test_critical_vitals_raise_an_alert_without_patient_names(clinic: Clinic) -> None:
    visit = clinic.visit_at("nursing_assessment")
    response = clinic.post(
        "nurse", "/api/vital-signs", {"visit_id": visit, "spo2": 84, "pulse": 80}
    )
    assert response.status_code == 201
    saved = response.get_json()
    assert "alert" in saved["message"]
    with new_session(clinic.engine) as session:
        alert = session.scalars(select(Alert)).one()
    assert alert.id == saved["data"]["alert_id"]
    assert (alert.kind, alert.priority, alert.status) == ("critical_vital", "critical", "active")
    assert alert.vehicle_id == clinic.vehicle_id and "SpO2 84" in alert.detail
    assert "Thandi" not in alert.title + alert.detail


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"systolic": 400, "diastolic": 80}, "systolic"),
        ({"systolic": 120, "diastolic": 130}, "diastolic"),
        ({"systolic": 120}, "diastolic"),
        ({"temperature": 50}, "temperature"),
        ({"spo2": 101}, "spo2"),
        ({"pulse": 0}, "pulse"),
        ({"pulse": "fast"}, "pulse"),
        ({"weight_kg": -3}, "weight_kg"),
        ({"weight_kg": 300, "height_cm": 40}, "height_cm"),
        ({"weight_kg": 70, "height_cm": 0}, "height_cm"),  # no BMI (was a 500)
        ({}, "_schema"),
    ],
)
def test_impossible_vitals_are_400_and_change_nothing(
    clinic: Clinic, body: dict[str, Any], field: str
) -> None:
    visit = clinic.visit_at("nursing_assessment")
    before = clinic.counts()
    response = clinic.post("nurse", "/api/vital-signs", {"visit_id": visit, **body})
    assert response.status_code == 400
    assert field in response.get_json()["details"]
    assert clinic.counts() == before


def test_vitals_belong_to_the_nursing_stage_and_the_nurse(clinic: Clinic) -> None:
    early = clinic.visit_at("registration")
    late = clinic.visit_at("doctor_consultation")
    clinic.hire("nurse", "doctor")
    before = clinic.counts()
    assert (
        clinic.post("nurse", "/api/vital-signs", {"visit_id": early, "pulse": 70}).status_code
        == 409
    )
    assert (
        clinic.post("nurse", "/api/vital-signs", {"visit_id": late, "pulse": 70}).status_code == 409
    )
    assert (
        clinic.post("doctor", "/api/vital-signs", {"visit_id": late, "pulse": 70}).status_code
        == 403
    )
    assert clinic.counts() == before
