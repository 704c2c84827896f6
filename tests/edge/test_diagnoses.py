"""ICD-10 diagnoses: validation against the WHO list, primary/secondary, the picker's search."""

from __future__ import annotations

import pytest

from edge.diagnosis import icd10
from tests.support.clinic import Clinic


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("J069", None),
        ("I10", None),
        ("J06", "not specific enough"),
        ("ZZZ9", "not a WHO ICD-10 code"),
        ("J00-J06", "not a WHO ICD-10 code"),
    ],
)
def test_codes_are_checked_against_the_who_list(code: str, problem: str | None) -> None:
    found = icd10.problem(code)
    assert found is None if problem is None else problem in (found or "")


def test_search_by_code_or_words() -> None:
    assert icd10.search("I10")[0] == {
        "code": "I10",
        "display": "I10",
        "description": "Essential (primary) hypertension",
    }
    by_words = [c["code"] for c in icd10.search("upper respiratory acute")]
    assert "J069" in by_words


def test_the_first_diagnosis_is_primary_and_a_new_primary_demotes_it(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    first = clinic.ok(
        "POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "j06.9"}
    )
    assert (first["icd10_code"], first["display"], first["is_primary"]) == ("J069", "J06.9", True)
    body = {"visit_id": visit, "icd10_code": "I10", "is_primary": True}
    second = clinic.ok("POST", "doctor", "/api/diagnoses", body)
    listed = clinic.ok("GET", "nurse", f"/api/diagnoses/{visit}")
    assert {d["icd10_code"]: d["is_primary"] for d in listed} == {"J069": False, "I10": True}
    assert second["description"] == "Essential (primary) hypertension"


def test_unknown_vague_and_repeated_codes_are_refused(clinic: Clinic) -> None:
    visit = clinic.visit_at("doctor_consultation")
    clinic.ok("POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "I10"})
    before = clinic.counts()
    for code, status in (("XYZ", 400), ("J06", 400), ("I10", 409), ("", 400)):
        response = clinic.post("doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": code})
        assert response.status_code == status, code
    assert clinic.counts() == before


def test_only_the_doctor_diagnoses_and_only_at_consultation(clinic: Clinic) -> None:
    nursing = clinic.visit_at("nursing_assessment")
    clinic.hire("nurse", "doctor")
    before = clinic.counts()
    body = {"visit_id": nursing, "icd10_code": "I10"}
    assert clinic.post("nurse", "/api/diagnoses", body).status_code == 403
    assert clinic.post("doctor", "/api/diagnoses", body).status_code == 409
    assert clinic.counts() == before


def test_the_picker_search_pages(clinic: Clinic) -> None:
    response = clinic.get("doctor", "/api/icd10?q=J0&per_page=5")
    body = response.get_json()
    assert response.status_code == 200 and len(body["data"]) == 5
    assert body["pagination"]["total"] > 5
    assert clinic.get("doctor", "/api/icd10").status_code == 400


def test_a_diagnosis_entered_in_error_is_withdrawn_and_the_next_becomes_primary(
    clinic: Clinic,
) -> None:
    visit = clinic.visit_at("doctor_consultation")
    wrong = clinic.ok("POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "I10"})
    right = clinic.ok("POST", "doctor", "/api/diagnoses", {"visit_id": visit, "icd10_code": "J069"})
    removed = clinic.ok("DELETE", "doctor", f"/api/diagnoses/{wrong['id']}")
    assert (removed["status"], removed["is_primary"]) == ("removed", False)
    listed = clinic.ok("GET", "doctor", f"/api/diagnoses/{visit}")
    assert [(d["id"], d["is_primary"]) for d in listed] == [(right["id"], True)]
    assert clinic.call("DELETE", "doctor", f"/api/diagnoses/{wrong['id']}").status_code == 409
    assert clinic.call("DELETE", "nurse", f"/api/diagnoses/{right['id']}").status_code == 403
    clinic.ok("DELETE", "doctor", f"/api/diagnoses/{right['id']}")
    advance = clinic.post("doctor", f"/api/visits/{visit}/advance")
    assert advance.status_code == 409  # no diagnosis left
