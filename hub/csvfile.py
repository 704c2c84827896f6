"""CSV in and out for head office's imports and exports: every row checked before any
is written, errors reported by line number, and cells that a spreadsheet would run as a
formula kept as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Response, request
from marshmallow import Schema, ValidationError

from common.errors import BadRequest

MAX_ROWS = 5000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Row = tuple[int, dict[str, Any]]


@dataclass
class Parsed:
    """The rows that loaded, with their line numbers, and the errors of those that did
    not; an import adds its own checks' errors and then calls `reject`."""

    rows: list[Row] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, line: int, name: str, message: str) -> None:
        self.errors.append({"line": line, "errors": {name: [message]}})

    def reject(self) -> None:
        reject(self.errors)


def request_text() -> str:
    """The request's body as CSV text (Content-Type: text/csv, UTF-8)."""
    if request.mimetype != "text/csv":
        raise BadRequest("Send the CSV file as the body with Content-Type: text/csv")
    try:
        text = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The CSV file is not UTF-8 text") from None
    if not text.strip():
        raise BadRequest("The CSV file is empty")
    return text


def read(text: str, schema: Schema, required: Sequence[str]) -> Parsed:
    """Every row loaded by `schema`, with its line number, and each bad row's errors;
    a 400 at once when the header is wrong or there are no rows."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in required if name not in header]
    if missing:
        raise BadRequest("The CSV header lacks columns", details={"missing": missing})
    reader.fieldnames = header
    parsed = Parsed()
    for record in reader:
        if len(parsed.rows) + len(parsed.errors) >= MAX_ROWS:
            raise BadRequest(f"Import at most {MAX_ROWS} rows at a time")
        line = reader.line_num
        if None in record:
            parsed.error(line, "_row", "More cells than columns")
            continue
        cells = {k: v.strip() for k, v in record.items() if k in schema.fields and v is not None}
        try:
            parsed.rows.append((line, schema.load({k: v for k, v in cells.items() if v != ""})))
        except ValidationError as error:
            parsed.errors.append({"line": line, "errors": error.normalized_messages()})
    if not parsed.rows and not parsed.errors:
        raise BadRequest("The CSV file has no rows")
    return parsed


def reject(errors: list[dict[str, Any]]) -> None:
    """Refuse the whole import when any row is wrong, saying which and why."""
    if errors:
        errors.sort(key=lambda e: e["line"])
        count = len(errors)
        message = f"{count} row{'s' if count != 1 else ''} with errors; nothing was imported"
        raise BadRequest(message, details={"rows": errors})


def write(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return buffer.getvalue()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def attachment(text: str, filename: str) -> Any:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text, mimetype="text/csv", headers=headers)
