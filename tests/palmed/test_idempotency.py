"""One claim per idempotency key, whatever happens: repeats, restarts, racing retries."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import pytest

from hub.claims.palmed import Claim, NotFound, PalmedClient, RequestRefused
from tests.palmed.conftest import ACTIVE
from tests.support.palmed import Sandbox, claim_request

CLAIM = claim_request(*ACTIVE)


def test_the_same_key_twice_returns_the_same_claim_and_stores_one(
    sandbox: Sandbox, client: PalmedClient
) -> None:
    first = client.submit_claim(CLAIM, "key-repeat-00001")
    second = client.submit_claim(CLAIM, "key-repeat-00001")
    assert (first.replayed, second.replayed) == (False, True)
    assert dataclasses.replace(second, replayed=False) == first
    assert [stored["claim_id"] for stored in sandbox.claims()] == [first.claim_id]


def test_a_repeat_answers_200_and_says_it_was_replayed(sandbox: Sandbox) -> None:
    body = CLAIM.to_json()
    headers = {"Idempotency-Key": "key-raw-http-001"}
    first = sandbox.request("POST", "/v1/claims", json=body, headers=headers)
    again = sandbox.request("POST", "/v1/claims", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["data"] == first.json()["data"]


def test_the_same_key_with_another_body_is_refused(sandbox: Sandbox, client: PalmedClient) -> None:
    original = client.submit_claim(CLAIM, "key-reused-00001")
    other = dataclasses.replace(CLAIM, dependant_code="01")
    with pytest.raises(RequestRefused) as refused:
        client.submit_claim(other, "key-reused-00001")
    assert refused.value.status == 422
    assert "different claim" in refused.value.message
    assert [stored["claim_id"] for stored in sandbox.claims()] == [original.claim_id]
    assert client.claim_by_key("key-reused-00001") == original


def test_a_key_survives_a_killed_sandbox(sandbox: Sandbox) -> None:
    with sandbox.client() as client:
        before = client.submit_claim(CLAIM, "key-restarted-01")
    sandbox.restart(kill=True)
    with sandbox.client() as client:
        after = client.submit_claim(CLAIM, "key-restarted-01")
        assert client.claim_by_key("key-restarted-01").claim_id == before.claim_id
    assert after.replayed
    assert after.claim_id == before.claim_id
    assert len(sandbox.claims()) == 1


def test_racing_submissions_with_one_key_make_one_claim(sandbox: Sandbox) -> None:
    def submit(_: int) -> Claim:
        with sandbox.client() as client:
            return client.submit_claim(CLAIM, "key-racing-00001")

    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(submit, range(8)))
    assert len({made.claim_id for made in claims}) == 1
    assert sorted(made.replayed for made in claims) == [False] + [True] * 7
    assert len(sandbox.claims()) == 1


def test_racing_duplicates_under_different_keys_are_caught(sandbox: Sandbox) -> None:
    def submit(index: int) -> Claim:
        with sandbox.client() as client:
            return client.submit_claim(CLAIM, f"key-racing-dup-{index}")

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(made.status for made in pool.map(submit, range(6)))
    assert statuses == ["accepted"] + ["rejected"] * 5
    assert len(sandbox.claims()) == 6


def test_an_unused_key_finds_no_claim(client: PalmedClient) -> None:
    with pytest.raises(NotFound):
        client.claim_by_key("key-never-used-1")
