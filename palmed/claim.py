"""Claims: stored once per idempotency key, adjudicated on arrival, paid by a pay run,
and reversed once on request (`palmed.reversal`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import sqlite3
from typing import Any

from common.errors import APIError, NotFound
from palmed import adjudication, catalogue, store
from palmed.catalogue import Catalogue

_SELECT = (
    "SELECT claim.*, remittance.paid_date, reversal.reversal_id, reversal.reason,"
    " reversal.amount AS reversed_amount, reversal.reversed_at, reversal.recovered_in"
    " FROM claim LEFT JOIN remittance USING (remittance_id)"
    " LEFT JOIN reversal ON reversal.claim_id = claim.claim_id"
)


class IdempotencyKeyReused(APIError):
    """The key already names a claim with a different body (as idempotency APIs answer)."""

    status = 422


def submit(
    connection: sqlite3.Connection,
    key: str,
    body: dict[str, Any],
    codes: Catalogue,
    today: dt.date,
) -> tuple[dict[str, Any], bool]:
    """The claim for this key, made and adjudicated the first time, found every time
    after; True in second place when it already existed."""
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    with store.transaction(connection):
        existing = _row(connection, "idempotency_key", key)
        if existing is not None:
            if existing["fingerprint"] != fingerprint:
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was already used for a different claim body; "
                    "send a new key for a new claim"
                )
            return _present(existing), True
        claim_id = "PLM" + secrets.token_hex(5).upper()
        _insert(connection, claim_id, key, fingerprint, body, codes, today)
        return get(connection, claim_id), False


def get(connection: sqlite3.Connection, claim_id: str) -> dict[str, Any]:
    row = _row(connection, "claim_id", claim_id)
    if row is None:
        raise NotFound(f"No claim {claim_id}")
    return _present(row)


def by_key(connection: sqlite3.Connection, key: str) -> dict[str, Any]:
    """The claim made with an idempotency key: how a caller learns what became of a
    submission whose answer it never received."""
    row = _row(connection, "idempotency_key", key)
    if row is None:
        raise NotFound("No claim was made with this Idempotency-Key")
    return _present(row)


def listing(
    connection: sqlite3.Connection, status: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of claims, oldest first, and how many there are in all."""
    where, args = ("WHERE claim.status = ?", [status]) if status else ("", [])
    total = connection.execute(f"SELECT count(*) FROM claim {where}", args).fetchone()[0]  # noqa: S608  # nosec B608 - identifiers checked, values bound
    rows = connection.execute(
        f"{_SELECT} {where} ORDER BY received_at, claim.claim_id LIMIT ? OFFSET ?",  # noqa: S608
        [*args, per_page, (page - 1) * per_page],
    ).fetchall()
    return [_present(row) for row in rows], int(total)


def _insert(
    connection: sqlite3.Connection,
    claim_id: str,
    key: str,
    fingerprint: str,
    body: dict[str, Any],
    codes: Catalogue,
    today: dt.date,
) -> None:
    decision = adjudication.adjudicate(connection, body, codes, today)
    connection.execute(
        "INSERT INTO claim (claim_id, idempotency_key, fingerprint, member_number,"
        " dependant_code, practice_number, service_date, reference, icd10_codes, lines,"
        " duplicate_key, status, reasons, claimed_amount, approved_amount, received_at,"
        " replaces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            claim_id,
            key,
            fingerprint,
            body["member_number"],
            body["dependant_code"],
            body["practice_number"],
            body["service_date"].isoformat(),
            body["reference"],
            json.dumps([catalogue.icd10_display(code) for code in body["icd10_codes"]]),
            json.dumps(decision.lines),
            decision.duplicate_key,
            decision.status,
            json.dumps(decision.reasons),
            str(decision.claimed_amount),
            str(decision.approved_amount),
            store.now(),
            body.get("replaces"),
        ),
    )


def _row(connection: sqlite3.Connection, column: str, value: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(
        f"{_SELECT} WHERE claim.{column} = ?",  # noqa: S608 - column is one of two names above
        (value,),
    ).fetchone()
    return row


def _present(row: sqlite3.Row) -> dict[str, Any]:
    remittance = None
    if row["remittance_id"] is not None:
        remittance = {
            "remittance_id": row["remittance_id"],
            "paid_date": row["paid_date"],
            "amount_paid": row["approved_amount"],
        }
    return {
        "claim_id": row["claim_id"],
        "idempotency_key": row["idempotency_key"],
        "status": row["status"],
        "reasons": json.loads(row["reasons"]),
        "member_number": row["member_number"],
        "dependant_code": row["dependant_code"],
        "practice_number": row["practice_number"],
        "service_date": row["service_date"],
        "reference": row["reference"],
        "icd10_codes": json.loads(row["icd10_codes"]),
        "lines": json.loads(row["lines"]),
        "claimed_amount": row["claimed_amount"],
        "approved_amount": row["approved_amount"],
        "received_at": row["received_at"],
        "remittance": remittance,
        "replaces": row["replaces"],
        "reversal": _reversal(row),
    }


def _reversal(row: sqlite3.Row) -> dict[str, Any] | None:
    if row["reversal_id"] is None:
        return None
    return {
        "reversal_id": row["reversal_id"],
        "reason": row["reason"],
        "amount": row["reversed_amount"],
        "reversed_at": row["reversed_at"],
        "recovered_in": row["recovered_in"],
    }
