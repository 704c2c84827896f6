"""Adjudication and payment as the hub's client sees them, against the real sandbox."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from hub.claims.palmed import ClaimLineRequest, ClaimRequest, PalmedClient
from palmed.adjudication import add_months
from tests.palmed.conftest import ACTIVE, SPOUSE, SUSPENDED, TERMINATED, TODAY
from tests.support.palmed import Sandbox, claim_request

YESTERDAY = TODAY - dt.timedelta(days=1)


def claim(**changes: object) -> ClaimRequest:
    """An acceptable claim for the roster's active principal member, with `changes`."""
    return dataclasses.replace(claim_request(*ACTIVE), **changes)  # type: ignore[arg-type]


def test_a_good_claim_is_accepted_and_capped_at_scheme_rates(client: PalmedClient) -> None:
    made = client.submit_claim(claim(reference="visit-1"), "key-accepted-0001")
    assert (made.status, made.reasons, made.replayed) == ("accepted", (), False)
    assert made.claim_id.startswith("PLM")
    assert made.reference == "visit-1"
    consultation, medicine = made.lines
    assert (consultation.kind, consultation.code, consultation.approved_amount) == (
        "tariff",
        "0190",
        Decimal("520.00"),
    )
    assert medicine.description == "Paracetamol 500 mg tablet"
    assert medicine.approved_amount == Decimal("7.00")  # 20 x R0.35
    assert (made.claimed_amount, made.approved_amount) == (Decimal("527.00"), Decimal("527.00"))
    over = claim(lines=(ClaimLineRequest("tariff", "0190", 1, Decimal("600.00")),))
    capped = client.submit_claim(over, "key-accepted-0002")
    assert (capped.status, capped.approved_amount) == ("accepted", Decimal("520.00"))


def test_icd10_codes_are_accepted_with_or_without_the_dot(client: PalmedClient) -> None:
    made = client.submit_claim(claim(icd10_codes=("j069", "I10")), "key-icd10-nodot-1")
    assert made.status == "accepted"
    assert made.icd10_codes == ("J06.9", "I10")


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({"member_number": SUSPENDED[0]}, ["MEMBER_INACTIVE"]),
        ({"member_number": TERMINATED[0]}, ["MEMBER_INACTIVE"]),
        ({"member_number": "999999999"}, ["MEMBER_NOT_FOUND"]),
        ({"dependant_code": "07"}, ["MEMBER_NOT_FOUND"]),
        ({"icd10_codes": ()}, ["ICD10_MISSING"]),
        ({"icd10_codes": ("J06.9", "J99.9")}, ["ICD10_INVALID"]),
        ({"icd10_codes": ("E11",)}, ["ICD10_NOT_SPECIFIC"]),
        (
            {"lines": (ClaimLineRequest("nappi", "7999999", 1, Decimal("10.00")),)},
            ["NAPPI_UNKNOWN"],
        ),
        ({"lines": (ClaimLineRequest("tariff", "9999", 1, Decimal("10.00")),)}, ["TARIFF_UNKNOWN"]),
        ({"service_date": add_months(TODAY, -4) - dt.timedelta(days=1)}, ["CLAIM_TOO_OLD"]),
        ({"service_date": TODAY + dt.timedelta(days=1)}, ["SERVICE_DATE_IN_FUTURE"]),
    ],
    ids=lambda value: value[0] if isinstance(value, list) else None,
)
def test_each_rule_rejects_with_its_reason_code(
    client: PalmedClient, changes: dict[str, object], codes: list[str]
) -> None:
    made = client.submit_claim(claim(**changes), "key-rule-000001")
    assert made.status == "rejected"
    assert [reason.code for reason in made.reasons] == codes
    assert all(reason.message for reason in made.reasons)
    assert made.approved_amount == Decimal("0.00")


def test_every_failed_rule_is_reported_at_once(client: PalmedClient) -> None:
    bad = claim(
        member_number=SUSPENDED[0],
        icd10_codes=("E11", "K99"),
        lines=(ClaimLineRequest("nappi", "7999999", 1, Decimal("10.00")),),
    )
    made = client.submit_claim(bad, "key-many-rules-1")
    assert [reason.code for reason in made.reasons] == [
        "MEMBER_INACTIVE",
        "ICD10_NOT_SPECIFIC",
        "ICD10_INVALID",
        "NAPPI_UNKNOWN",
    ]


def test_eligibility_is_judged_on_the_service_date(client: PalmedClient) -> None:
    before_suspension = TODAY - dt.timedelta(days=11)
    made = client.submit_claim(
        claim(member_number=SUSPENDED[0], service_date=before_suspension), "key-eligible-then"
    )
    assert made.status == "accepted"


def test_the_same_service_under_another_key_is_a_duplicate(client: PalmedClient) -> None:
    original = client.submit_claim(claim(), "key-original-001")
    again = client.submit_claim(claim(icd10_codes=("R50.9",)), "key-duplicate-01")
    assert again.claim_id != original.claim_id
    assert again.status == "rejected"
    assert [reason.code for reason in again.reasons] == ["DUPLICATE_CLAIM"]
    assert original.claim_id in again.reasons[0].message
    other_patient = client.submit_claim(claim(dependant_code=SPOUSE[1]), "key-spouse-0001")
    assert other_patient.status == "accepted"


def test_a_rejected_claim_does_not_block_its_corrected_resubmission(client: PalmedClient) -> None:
    rejected = client.submit_claim(claim(icd10_codes=("E11",)), "key-first-try-01")
    corrected = client.submit_claim(claim(icd10_codes=("E11.9",)), "key-corrected-01")
    assert (rejected.status, corrected.status) == ("rejected", "accepted")


def test_a_pay_run_pays_accepted_claims_with_a_remittance(
    sandbox: Sandbox, client: PalmedClient
) -> None:
    accepted = client.submit_claim(claim(), "key-to-be-paid-1")
    rejected = client.submit_claim(claim(icd10_codes=()), "key-never-paid-1")
    run = sandbox.admin("POST", "/pay-run", {"paid_date": TODAY.isoformat()})
    assert run["claims"] == [{"claim_id": accepted.claim_id, "amount_paid": "527.00"}]
    paid = client.claim_status(accepted.claim_id)
    assert paid.status == "paid"
    assert paid.remittance is not None
    assert paid.remittance.remittance_id == run["remittance_id"]
    assert (paid.remittance.paid_date, paid.remittance.amount_paid) == (TODAY, Decimal("527.00"))
    assert client.claim_by_key("key-to-be-paid-1") == paid
    assert client.claim_status(rejected.claim_id).status == "rejected"
    assert sandbox.admin("POST", "/pay-run") is None


def test_a_paid_claim_still_counts_for_duplicates(sandbox: Sandbox, client: PalmedClient) -> None:
    client.submit_claim(claim(), "key-paid-first-1")
    sandbox.admin("POST", "/pay-run")
    again = client.submit_claim(claim(), "key-paid-again-1")
    assert [reason.code for reason in again.reasons] == ["DUPLICATE_CLAIM"]


def test_yesterdays_claim_for_the_demo_roster_is_accepted(palmed_sandbox: Sandbox) -> None:
    with palmed_sandbox.client() as client:
        made = client.submit_claim(claim_request(), "key-demo-claim-1")
    assert made.status == "accepted"
    assert made.service_date == YESTERDAY
