"""Reversals and corrections at the sandbox, as the hub's client sees them: a claim is
reversed once per idempotency key, a reversed claim is never paid (a paid one is
recovered by the next pay run), and a correction replaces only a claim that no longer
stands."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from hub.claims.palmed import ClaimRequest, NotFound, PalmedClient, RequestRefused
from palmed import store
from tests.palmed.conftest import ACTIVE, SPOUSE
from tests.support.palmed import Sandbox, claim_request


def claim(**changes: object) -> ClaimRequest:
    return dataclasses.replace(claim_request(*ACTIVE), **changes)  # type: ignore[arg-type]


def test_an_accepted_claim_is_reversed_once_per_key(sandbox: Sandbox, client: PalmedClient) -> None:
    made = client.submit_claim(claim(), "key-reverse-claim-1")

    reversed_ = client.reverse_claim(made.claim_id, "key-reversal-0001", "Corrected claim follows")
    again = client.reverse_claim(made.claim_id, "key-reversal-0001", "Corrected claim follows")

    assert (reversed_.status, reversed_.replayed, again.replayed) == ("reversed", False, True)
    assert reversed_.reversal is not None and again.reversal == reversed_.reversal
    assert reversed_.reversal.reason == "Corrected claim follows"
    assert reversed_.reversal.amount == made.approved_amount
    assert reversed_.reversal.recovered_in is None
    assert client.claim_status(made.claim_id).status == "reversed"
    [held] = sandbox.admin("GET", "/reversals")
    assert (held["claim_id"], held["idempotency_key"]) == (made.claim_id, "key-reversal-0001")
    assert [c["status"] for c in sandbox.claims()] == ["reversed"]


def test_a_repeat_answers_200_and_a_first_reversal_201(sandbox: Sandbox) -> None:
    made = sandbox.client().submit_claim(claim(), "key-reverse-claim-2")
    path = f"/v1/claims/{made.claim_id}/reversal"
    headers = {"Idempotency-Key": "key-reversal-0002"}
    first = sandbox.request("POST", path, json={"reason": "x"}, headers=headers)
    repeat = sandbox.request("POST", path, json={"reason": "x"}, headers=headers)
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert repeat.headers["Idempotent-Replayed"] == "true"
    assert first.json()["data"] == repeat.json()["data"]


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, {"reason": "x"}, 400),  # no key
        ({"Idempotency-Key": "short"}, {"reason": "x"}, 400),
        ({"Idempotency-Key": "key-reversal-bad1"}, {}, 400),  # no reason
        ({"Idempotency-Key": "key-reversal-bad2"}, {"reason": ""}, 400),
        ({"Idempotency-Key": "key-reversal-bad3"}, {"reason": "x", "amount": 1}, 400),
    ],
)
def test_a_bad_reversal_request_is_a_400_and_reverses_nothing(
    sandbox: Sandbox, headers: dict[str, str], body: dict[str, object], status: int
) -> None:
    made = sandbox.client().submit_claim(claim(), "key-reverse-claim-3")
    path = f"/v1/claims/{made.claim_id}/reversal"
    answer = sandbox.request("POST", path, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["success"] is False
    assert sandbox.client().claim_status(made.claim_id).status == "accepted"
    assert sandbox.admin("GET", "/reversals") == []


def test_what_cannot_be_reversed_is_refused_and_changes_nothing(client: PalmedClient) -> None:
    rejected = client.submit_claim(claim(icd10_codes=()), "key-reverse-claim-4")
    accepted = client.submit_claim(
        claim(member_number=SPOUSE[0], dependant_code=SPOUSE[1]), "key-reverse-claim-5"
    )
    client.reverse_claim(accepted.claim_id, "key-reversal-0005", "first")

    with pytest.raises(NotFound):
        client.reverse_claim("PLM0000000000", "key-reversal-0006", "no such claim")
    with pytest.raises(RequestRefused) as refused:
        client.reverse_claim(rejected.claim_id, "key-reversal-0007", "rejected")
    assert refused.value.status == 409
    with pytest.raises(RequestRefused) as twice:
        client.reverse_claim(accepted.claim_id, "key-reversal-0008", "again, another key")
    assert twice.value.status == 409 and "already reversed" in twice.value.message
    with pytest.raises(RequestRefused) as reused:  # the key of another reversal
        client.reverse_claim(accepted.claim_id, "key-reversal-0005", "another reason")
    assert reused.value.status == 422
    assert client.claim_status(rejected.claim_id).status == "rejected"


def test_a_reversed_claim_is_never_paid(sandbox: Sandbox, client: PalmedClient) -> None:
    made = client.submit_claim(claim(), "key-reverse-claim-6")
    client.reverse_claim(made.claim_id, "key-reversal-0009", "withdrawn")

    assert sandbox.admin("POST", "/pay-run") is None
    assert client.claim_status(made.claim_id).remittance is None


def test_a_paid_claim_reversed_is_recovered_once_by_the_next_pay_run(
    sandbox: Sandbox, client: PalmedClient
) -> None:
    made = client.submit_claim(claim(), "key-reverse-claim-7")
    paid = sandbox.admin("POST", "/pay-run")
    client.reverse_claim(made.claim_id, "key-reversal-0010", "paid in error")

    recovery = sandbox.admin("POST", "/pay-run")

    assert recovery["claims"] == [{"claim_id": made.claim_id, "amount_paid": "-527.00"}]
    assert Decimal(recovery["total_paid"]) == Decimal("-527.00")
    shown = client.claim_status(made.claim_id)
    assert shown.status == "reversed"
    assert shown.remittance is not None and shown.remittance.remittance_id == paid["remittance_id"]
    assert shown.reversal is not None
    assert shown.reversal.recovered_in == recovery["remittance_id"]
    assert sandbox.admin("POST", "/pay-run") is None  # recovered once


def test_a_correction_replaces_a_reversed_claim_instead_of_duplicating_it(
    client: PalmedClient,
) -> None:
    original = client.submit_claim(claim(), "key-reverse-claim-8")
    duplicate = client.submit_claim(claim(), "key-reverse-claim-9")
    assert [r.code for r in duplicate.reasons] == ["DUPLICATE_CLAIM"]
    too_soon = client.submit_claim(claim(replaces=original.claim_id), "key-correction-0001")
    assert [r.code for r in too_soon.reasons] == ["REPLACED_CLAIM_STANDS", "DUPLICATE_CLAIM"]

    client.reverse_claim(original.claim_id, "key-reversal-0011", "corrected")
    correction = client.submit_claim(claim(replaces=original.claim_id), "key-correction-0002")

    assert (correction.status, correction.replaces) == ("accepted", original.claim_id)


@pytest.mark.parametrize(
    ("replaces", "code"),
    [("PLM0000000000", "REPLACED_CLAIM_UNKNOWN"), ("other", "REPLACED_CLAIM_MISMATCH")],
)
def test_a_correction_of_a_claim_that_is_not_its_own_is_rejected(
    client: PalmedClient, replaces: str, code: str
) -> None:
    if replaces == "other":
        other = client.submit_claim(
            claim(member_number=SPOUSE[0], dependant_code=SPOUSE[1]), "key-reverse-claim-a"
        )
        client.reverse_claim(other.claim_id, "key-reversal-0012", "not theirs")
        replaces = other.claim_id
    made = client.submit_claim(claim(replaces=replaces), "key-correction-0003")
    assert (made.status, [r.code for r in made.reasons]) == ("rejected", [code])


def test_a_file_made_before_reversals_keeps_its_claims(sandbox: Sandbox) -> None:
    """An older sandbox file: the claim table is made again with the new columns."""
    made = sandbox.client().submit_claim(claim(), "key-reverse-claim-b")
    sandbox.stop()
    _as_before_reversals(sandbox.database)

    sandbox.start()

    with sandbox.client() as client:
        assert client.claim_status(made.claim_id).status == "accepted"
        client.reverse_claim(made.claim_id, "key-reversal-0013", "after the upgrade")
        assert client.claim_status(made.claim_id).status == "reversed"


def _as_before_reversals(path: Path) -> None:
    """Put the file's claim table back the way it was made before reversals."""
    connection = store.connect(str(path))
    try:
        connection.execute("PRAGMA foreign_keys = OFF")
        with store.transaction(connection):
            connection.execute("DROP TABLE reversal")
            columns = store.CLAIM_COLUMNS.replace(", 'reversed'", "").replace(
                ",\n    replaces TEXT", ""
            )
            connection.execute(f"CREATE TABLE claim_old ({columns})")
            names = ", ".join(
                row["name"] for row in connection.execute("PRAGMA table_info(claim_old)")
            )
            connection.execute(f"INSERT INTO claim_old SELECT {names} FROM claim")  # noqa: S608
            connection.execute("DROP TABLE claim")
            connection.execute("ALTER TABLE claim_old RENAME TO claim")
        sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'claim'").fetchone()
        assert "replaces" not in sql[0] and "'reversed'" not in sql[0]
    finally:
        connection.close()
