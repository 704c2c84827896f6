"""The whole visit in real headless Chromium: a clerk registers a patient, a nurse records
vitals (flagged as typed), a doctor diagnoses with the ICD-10 picker and prescribes, a
social worker counsels, and the visit closes with a claim draft and less stock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.meter import serving
from common.database import new_session
from schema.base import utcnow
from schema.models import Patient
from tests.support.clinic import Clinic, lot_quantity, sa_id
from tests.support.identity import browser_login


@contextmanager
def logged_in(browser: Any, base: str, clinic: Clinic, role: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    try:
        browser_login(page, base, clinic.staff(role))
        yield page
    finally:
        context.close()


def submit(page: Any, selector: str) -> None:
    """Submit a form whose success reloads or leaves the page."""
    with page.expect_navigation():
        page.click(f"{selector} button[type=submit]")


def test_a_visit_from_registration_to_claim(browser: Any, clinic: Clinic) -> None:
    clinic.hire("clerk", "nurse", "doctor", "social_worker")
    with serving(clinic.app) as base:
        with logged_in(browser, base, clinic, "clerk") as page:
            page.goto(base + "/patients")
            page.fill("#first_name", "Lindiwe")
            page.fill("#last_name", "Khumalo")
            page.fill("#id_number", "123")
            page.click("#register-form button[type=submit]")
            error = page.wait_for_selector("#id_number ~ .field-error")
            assert "Not a valid South African ID number" in error.text_content()
            page.fill("#id_number", sa_id(dt.date(1988, 5, 2), "F"))
            page.fill("#medical_aid_number", "110234561")
            page.fill("#dependant_code", "01")
            page.fill("#allergies", "Sulfa")
            submit(page, "#register-form")
            page.wait_for_url(f"{base}/visits/*")
            visit = page.url.rsplit("/", 1)[1]
            assert page.text_content("[data-testid=visit-stage]") == "Registration"
            submit(page, "[data-panel=registration] [data-testid=advance]")
            assert page.text_content("[data-testid=visit-stage]") == "Nursing assessment"

        with logged_in(browser, base, clinic, "nurse") as page:
            page.goto(base + "/queue")
            card = page.locator("[data-stage=nursing_assessment] .queue-card")
            assert "Lindiwe Khumalo" in card.text_content()
            with page.expect_navigation():
                card.click()
            page.fill("#v-systolic", "190")
            assert page.text_content("[data-testid=flag-systolic]") == "critical high"
            page.fill("#v-diastolic", "95")
            page.fill("#v-pulse", "88")
            page.fill("#v-weight_kg", "70")
            page.fill("#v-height_cm", "175")
            assert page.text_content("[data-testid=bmi]") == "22.9"
            page.fill("#v-spo2", "120")
            page.click("[data-testid=vitals-form] button[type=submit]")
            error = page.wait_for_selector("#v-spo2 ~ .field-error")
            assert "between 50 and 100" in error.text_content()
            page.fill("#v-spo2", "97")
            submit(page, "[data-testid=vitals-form]")
            assert "critical high" in page.text_content("[data-testid=vitals]")
            submit(page, "[data-panel=nursing_assessment] [data-testid=advance]")
            assert page.text_content("[data-testid=visit-stage]") == "Doctor consultation"

        with logged_in(browser, base, clinic, "doctor") as page:
            page.goto(f"{base}/visits/{visit}")
            page.click("[data-panel=doctor_consultation] [data-testid=advance] button")
            error = page.wait_for_selector(
                "[data-testid=advance] [data-role=form-error]:has-text('ICD-10')"
            )
            assert "ICD-10" in error.text_content()
            page.fill("#icd10-search", "I10")
            page.click("[data-testid=icd10-results] button[data-code=I10]")
            assert "Essential (primary) hypertension" in page.text_content(
                "[data-testid=icd10-picked]"
            )
            submit(page, "#diagnosis-form")
            assert "I10" in page.text_content("[data-testid=diagnoses]")
            page.select_option("#rx-nappi", "7010017")
            page.fill("#rx-dose", "2 tablets")
            page.fill("#rx-frequency", "four times a day")
            page.fill("#rx-duration", "3")
            page.fill("#rx-quantity", "15")
            submit(page, "[data-testid=prescription-form]")
            assert "dispensed" in page.text_content("[data-testid=prescriptions]")
            submit(page, "[data-panel=doctor_consultation] [data-testid=advance]")

        with logged_in(browser, base, clinic, "social_worker") as page:
            page.goto(f"{base}/visits/{visit}")
            page.fill("#note-body", "Discussed blood pressure and diet.")
            submit(page, "[data-testid=note-form]")
            submit(page, "[data-panel=counseling_session] [data-testid=advance]")
            assert "Diagnoses: I10" in page.text_content("[data-testid=visit-summary]")
            assert page.text_content("[data-testid=claim-status]") == "ready"
            assert "R 525.25" in page.text_content("[data-testid=claim]")

    assert lot_quantity(clinic.engine, clinic.stock["soon"]) == 0
    assert lot_quantity(clinic.engine, clinic.stock["later"]) == 95


def test_registration_warns_of_a_likely_duplicate_and_shows_eligibility_age(
    browser: Any, clinic: Clinic
) -> None:
    existing = clinic.register(
        first_name="Sipho", last_name="Dlamini", id_number=None, date_of_birth="1979-04-12", sex="M"
    )
    with new_session(clinic.engine) as session, session.begin():
        patient = session.get_one(Patient, existing["id"])
        patient.member_status = "active"
        patient.member_verified_at = utcnow() - dt.timedelta(days=3, hours=1)
    with serving(clinic.app) as base, logged_in(browser, base, clinic, "clerk") as page:
        page.goto(base + "/patients?q=dlamini")
        row = page.text_content("[data-testid=patient-results]")
        assert "Sipho Dlamini" in row and "verified 3 days ago" in row
        page.fill("#first_name", "Sipho")
        page.fill("#last_name", "Dlamini")
        page.fill("#date_of_birth", "1979-04-12")
        page.select_option("#sex", "M")
        page.click("#register-form button[type=submit]")
        warning = page.wait_for_selector("[data-testid=duplicates]:not([hidden])")
        assert "Sipho Dlamini, born 1979-04-12" in warning.text_content()
        page.check("input[name=allow_duplicate]")
        submit(page, "#register-form")
        page.wait_for_url(f"{base}/visits/*")
        assert page.text_content("[data-testid=visit-stage]") == "Registration"


def test_registration_shows_a_suspended_member_as_not_eligible_and_how_old_that_is(
    browser: Any, clinic: Clinic
) -> None:
    lapsed = clinic.register(
        first_name="Zanele", last_name="Khumalo", medical_aid_number="110743906"
    )
    with new_session(clinic.engine) as session, session.begin():
        patient = session.get_one(Patient, lapsed["id"])  # the vehicle's copy, from the hub
        patient.member_status = "suspended"
        patient.member_verified_at = utcnow() - dt.timedelta(days=5)
    with serving(clinic.app) as base, logged_in(browser, base, clinic, "clerk") as page:
        page.goto(base + "/patients?q=110743906")
        shown = page.locator("[data-testid=patient-results] [data-testid=eligibility]")
        shown_text = " ".join(shown.inner_text().split())
        assert shown_text == "not eligible suspended verified 5 days ago"
        with page.expect_navigation():
            page.locator("[data-testid=patient-results] button", has_text="Start visit").click()
        page.wait_for_url(f"{base}/visits/*")
        registration = page.locator("[data-panel=registration] [data-testid=eligibility]")
        assert "not eligible" in registration.inner_text()
        assert "verified 5 days ago" in registration.inner_text()
