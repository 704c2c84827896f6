"""Reversals: a practice takes back a claim it made (a corrected claim replaces it).

Exactly once per idempotency key, like submissions: the first request reverses the
claim, a repeat with the same key and reason finds the same reversal. A reversed claim is
never paid; one already paid is recovered by the next pay run, as a negative line of its
remittance (`palmed.remittance`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
from typing import Any

from common.errors import Conflict
from palmed import claim, store
from palmed.claim import IdempotencyKeyReused

REVERSIBLE = ("accepted", "paid")


def reverse(
    connection: sqlite3.Connection, claim_id: str, key: str, body: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """The claim reversed under this key, reversed the first time, found every time after;
    True in second place when it already was."""
    fingerprint = _fingerprint(claim_id, body)
    with store.transaction(connection):
        existing = connection.execute(
            "SELECT claim_id, fingerprint FROM reversal WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for another reversal; "
                    "send a new key for a new reversal"
                )
            return claim.get(connection, claim_id), True
        found = claim.get(connection, claim_id)
        _check_reversible(found)
        _insert(connection, found, key, fingerprint, body["reason"])
        return claim.get(connection, claim_id), False


def listing(
    connection: sqlite3.Connection, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of reversals, oldest first, and how many there are in all."""
    total = connection.execute("SELECT count(*) FROM reversal").fetchone()[0]
    rows = connection.execute(
        "SELECT reversal_id, claim_id, idempotency_key, reason, amount, reversed_at,"
        " recovered_in FROM reversal ORDER BY reversed_at, reversal_id LIMIT ? OFFSET ?",
        (per_page, (page - 1) * per_page),
    ).fetchall()
    return [dict(row) for row in rows], int(total)


def _check_reversible(found: dict[str, Any]) -> None:
    if found["reversal"] is not None:
        reversal_id = found["reversal"]["reversal_id"]
        raise Conflict(f"Claim {found['claim_id']} is already reversed ({reversal_id})")
    if found["status"] not in REVERSIBLE:
        raise Conflict(
            f"Claim {found['claim_id']} is {found['status']}: only an accepted or paid "
            "claim can be reversed"
        )


def _insert(
    connection: sqlite3.Connection,
    found: dict[str, Any],
    key: str,
    fingerprint: str,
    reason: str,
) -> None:
    reversal_id = "REV" + secrets.token_hex(5).upper()
    connection.execute(
        "INSERT INTO reversal (reversal_id, claim_id, idempotency_key, fingerprint, reason,"
        " amount, reversed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            reversal_id,
            found["claim_id"],
            key,
            fingerprint,
            reason,
            found["approved_amount"],
            store.now(),
        ),
    )
    connection.execute(
        "UPDATE claim SET status = 'reversed' WHERE claim_id = ?", (found["claim_id"],)
    )


def _fingerprint(claim_id: str, body: dict[str, Any]) -> str:
    content = json.dumps({"claim_id": claim_id, **body}, sort_keys=True)
    return hashlib.sha256(content.encode()).hexdigest()
