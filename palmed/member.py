"""The member roster: who is covered, their status on any date, and the feed of changes
the hub follows to keep vehicles' eligibility copies current."""

from __future__ import annotations

import csv
import datetime as dt
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marshmallow import ValidationError

from common.errors import BadRequest, NotFound
from palmed import schemas, store

_DETAILS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "relationship",
    "effective_from",
    "effective_to",
)


@dataclass(frozen=True)
class SeedResult:
    members: int
    status_changes: int


def read_roster(path: Path) -> list[dict[str, Any]]:
    """Every row of a roster CSV, validated; a file with any bad row is refused whole."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    loaded, problems = [], {}
    for line, row in enumerate(rows, start=2):
        try:
            loaded.append(schemas.RosterRow().load({k: v for k, v in row.items() if v}))
        except ValidationError as error:
            problems[f"line {line}"] = error.normalized_messages()
    if problems:
        raise BadRequest(f"{path.name}: {len(problems)} invalid row(s)", details=problems)
    if not loaded:
        raise BadRequest(f"{path.name}: no members in the file")
    return loaded


def seed(connection: sqlite3.Connection, rows: Iterable[dict[str, Any]]) -> SeedResult:
    """Add or update members; a status is recorded only when it differs from the last one,
    so seeding the same file twice changes nothing and adds nothing to the feed."""
    members = changes = 0
    with store.transaction(connection):
        for row in rows:
            members += 1
            changes += _upsert(connection, row)
    return SeedResult(members, changes)


def _upsert(connection: sqlite3.Connection, row: dict[str, Any]) -> int:
    key = (row["member_number"], row["dependant_code"])
    details = [_text(row.get(name)) for name in _DETAILS]
    connection.execute(
        "INSERT INTO member (member_number, dependant_code, first_name, last_name, date_of_birth,"
        " relationship, effective_from, effective_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT DO UPDATE SET first_name = excluded.first_name,"
        " last_name = excluded.last_name, date_of_birth = excluded.date_of_birth,"
        " relationship = excluded.relationship, effective_from = excluded.effective_from,"
        " effective_to = excluded.effective_to",
        (*key, *details),
    )
    status_date = row.get("status_date") or row["effective_from"]
    last = _last_status(connection, *key)
    if last is not None and (last["status"], last["effective_date"]) == (
        row["status"],
        status_date.isoformat(),
    ):
        return 0
    if last is None and status_date > row["effective_from"]:
        _record(connection, key, "active", row["effective_from"], "enrolled")
        _record(connection, key, row["status"], status_date, "roster")
        return 2
    _record(connection, key, row["status"], status_date, "enrolled" if last is None else "roster")
    return 1


def change_status(
    connection: sqlite3.Connection,
    member_number: str,
    dependant_code: str,
    status: str,
    effective_date: dt.date,
    reason: str | None,
) -> dict[str, Any]:
    """Record a new status (suspension, reinstatement, termination); it enters the feed."""
    with store.transaction(connection):
        _require(connection, member_number, dependant_code)
        sequence = _record(
            connection, (member_number, dependant_code), status, effective_date, reason
        )
        return _change(connection, sequence)


def lookup(
    connection: sqlite3.Connection, member_number: str, dependant_code: str, on: dt.date
) -> dict[str, Any]:
    """A member's details, status and eligibility on a date, or a 404."""
    found = standing(connection, member_number, dependant_code, on)
    if found is None:
        raise _no_member(member_number, dependant_code)
    return found


def standing(
    connection: sqlite3.Connection, member_number: str, dependant_code: str, on: dt.date
) -> dict[str, Any] | None:
    """Details, status and eligibility on a date (covered and active); None if unknown."""
    member = _find(connection, member_number, dependant_code)
    if member is None:
        return None
    status = status_on(connection, member_number, dependant_code, on)
    return {
        **_details(member),
        "on": on.isoformat(),
        "status": status,
        "eligible": status == "active" and covered(member, on),
    }


def status_on(
    connection: sqlite3.Connection, member_number: str, dependant_code: str, on: dt.date
) -> str | None:
    """The status in force on a date: the latest one effective by then (None before any)."""
    row = connection.execute(
        "SELECT status FROM member_status WHERE member_number = ? AND dependant_code = ?"
        " AND effective_date <= ? ORDER BY effective_date DESC, sequence DESC LIMIT 1",
        (member_number, dependant_code, on.isoformat()),
    ).fetchone()
    return row["status"] if row else None


def covered(member: sqlite3.Row, on: dt.date) -> bool:
    day = on.isoformat()
    return member["effective_from"] <= day and (
        member["effective_to"] is None or day <= member["effective_to"]
    )


def changes_since(connection: sqlite3.Connection, cursor: str, limit: int) -> dict[str, Any]:
    """The next page of status changes after `cursor`, oldest first. Sequences are
    assigned under the write lock and committed in order, so none appears behind a cursor."""
    rows = connection.execute(
        f"{_CHANGE_QUERY} WHERE s.sequence > ? ORDER BY s.sequence LIMIT ?",
        (int(cursor), limit + 1),
    ).fetchall()
    page = [_change_row(row) for row in rows[:limit]]
    return {
        "changes": page,
        "next_cursor": str(page[-1]["sequence"]) if page else cursor,
        "has_more": len(rows) > limit,
    }


_CHANGE_QUERY = (
    "SELECT s.sequence, s.status, s.effective_date, s.reason, s.recorded_at, m.*"
    " FROM member_status AS s JOIN member AS m USING (member_number, dependant_code)"
)


def _change(connection: sqlite3.Connection, sequence: int) -> dict[str, Any]:
    row = connection.execute(f"{_CHANGE_QUERY} WHERE s.sequence = ?", (sequence,)).fetchone()
    return _change_row(row)


def _change_row(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "sequence": row["sequence"],
        "status": row["status"],
        "effective_date": row["effective_date"],
        "reason": row["reason"],
        "recorded_at": row["recorded_at"],
        "member": _details(row),
    }


def _details(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "member_number": row["member_number"],
        "dependant_code": row["dependant_code"],
        **{name: row[name] for name in _DETAILS},
    }


def _record(
    connection: sqlite3.Connection,
    key: tuple[str, str],
    status: str,
    effective_date: dt.date,
    reason: str | None,
) -> int:
    cursor = connection.execute(
        "INSERT INTO member_status (member_number, dependant_code, status, effective_date,"
        " reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
        (*key, status, effective_date.isoformat(), reason, store.now()),
    )
    return int(cursor.lastrowid or 0)


def _last_status(
    connection: sqlite3.Connection, member_number: str, dependant_code: str
) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(
        "SELECT status, effective_date FROM member_status WHERE member_number = ?"
        " AND dependant_code = ? ORDER BY sequence DESC LIMIT 1",
        (member_number, dependant_code),
    ).fetchone()
    return row


def _find(
    connection: sqlite3.Connection, member_number: str, dependant_code: str
) -> sqlite3.Row | None:
    row: sqlite3.Row | None = connection.execute(
        "SELECT * FROM member WHERE member_number = ? AND dependant_code = ?",
        (member_number, dependant_code),
    ).fetchone()
    return row


def _require(connection: sqlite3.Connection, member_number: str, dependant_code: str) -> None:
    if _find(connection, member_number, dependant_code) is None:
        raise _no_member(member_number, dependant_code)


def _no_member(member_number: str, dependant_code: str) -> NotFound:
    return NotFound(f"No member {member_number} with dependant code {dependant_code}")


def _text(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value
