"""Pay runs: accepted claims become paid, each with the remittance that paid it; a paid
claim reversed since it was paid is recovered in the next one, as a negative line."""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from decimal import Decimal
from typing import Any

from palmed import store


def pay_run(connection: sqlite3.Connection, paid_date: dt.date) -> dict[str, Any] | None:
    """Pay every accepted claim its approved amount, and take back what was paid for every
    reversed claim not recovered yet, under one new remittance; None when there is
    nothing to pay or recover. Run it from `palmed-sandbox pay-run` or POST
    /admin/pay-run."""
    with store.transaction(connection):
        claims = connection.execute(
            "SELECT claim_id, approved_amount FROM claim WHERE status = 'accepted'"
            " ORDER BY received_at, claim_id"
        ).fetchall()
        recoveries = connection.execute(
            "SELECT claim_id, amount FROM reversal JOIN claim USING (claim_id)"
            " WHERE claim.remittance_id IS NOT NULL AND reversal.recovered_in IS NULL"
            " ORDER BY reversed_at, claim_id"
        ).fetchall()
        if not claims and not recoveries:
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
        connection.executemany(
            "UPDATE reversal SET recovered_in = ? WHERE claim_id = ?",
            [(remittance_id, row["claim_id"]) for row in recoveries],
        )
    lines = [
        *({"claim_id": row["claim_id"], "amount_paid": row["approved_amount"]} for row in claims),
        *(
            {"claim_id": row["claim_id"], "amount_paid": str(-Decimal(row["amount"]))}
            for row in recoveries
        ),
    ]
    total = sum((Decimal(line["amount_paid"]) for line in lines), Decimal("0.00"))
    return {
        "remittance_id": remittance_id,
        "paid_date": paid_date.isoformat(),
        "total_paid": str(total),
        "claims": lines,
    }
