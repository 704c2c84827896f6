"""Pay runs: accepted claims become paid, each with the remittance that paid it."""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from decimal import Decimal
from typing import Any

from palmed import store


def pay_run(connection: sqlite3.Connection, paid_date: dt.date) -> dict[str, Any] | None:
    """Pay every accepted claim its approved amount under one new remittance; None when
    there is nothing to pay. Run it from `palmed-sandbox pay-run` or POST /admin/pay-run."""
    with store.transaction(connection):
        claims = connection.execute(
            "SELECT claim_id, approved_amount FROM claim WHERE status = 'accepted'"
            " ORDER BY received_at, claim_id"
        ).fetchall()
        if not claims:
            return None
        remittance_id = f"RA{paid_date:%Y%m%d}-{secrets.token_hex(3).upper()}"
        connection.execute(
            "INSERT INTO remittance (remittance_id, paid_date, created_at) VALUES (?, ?, ?)",
            (remittance_id, paid_date.isoformat(), store.now()),
        )
        connection.execute(
            "UPDATE claim SET status = 'paid', remittance_id = ? WHERE status = 'accepted'",
            (remittance_id,),
        )
    total = sum((Decimal(row["approved_amount"]) for row in claims), Decimal("0.00"))
    return {
        "remittance_id": remittance_id,
        "paid_date": paid_date.isoformat(),
        "total_paid": str(total),
        "claims": [
            {"claim_id": row["claim_id"], "amount_paid": row["approved_amount"]} for row in claims
        ],
    }
