"""Many patients at once (a JSON list or a CSV file), every row checked before any is saved.

A file with bad rows imports nothing and says which rows are wrong, by line, unless the
caller asks to import the valid rows and leave the bad ones out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.errors import BadRequest
from edge.patient.schemas import PatientIn
from edge.patient.service import RESOURCE, new_patient
from schema.models import Patient

LIST_SEPARATOR = ";"
LIST_COLUMNS = ("allergies", "chronic_conditions")
MAX_ROWS = 50_000
_CHUNK = 500


@dataclass
class Report:
    """What an import found: the rows it could take and the rows it could not."""

    unit: str  # "line" for a CSV file, "row" for a JSON list
    total: int = 0
    valid: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, number: int, problems: Mapping[str, Any]) -> None:
        self.errors.append({self.unit: number, "errors": dict(problems)})

    def summary(self, imported: int) -> dict[str, Any]:
        return {
            "total": self.total,
            "valid": len(self.valid),
            "invalid": len(self.errors),
            "imported": imported,
            "errors": self.errors,
        }


def import_csv(
    session: Session, actor: Actor, content: bytes, import_valid: bool
) -> dict[str, Any]:
    """Import a CSV file whose header names the patient fields (lists split on ';')."""
    return _import(session, actor, Report("line"), _csv_rows(content), import_valid)


def import_many(
    session: Session, actor: Actor, rows: list[dict[str, Any]], import_valid: bool
) -> dict[str, Any]:
    """Import a JSON list of patients; rows are numbered from 1."""
    return _import(session, actor, Report("row"), enumerate(rows, start=1), import_valid)


def _import(
    session: Session,
    actor: Actor,
    report: Report,
    rows: Iterable[tuple[int, dict[str, Any] | None]],
    import_valid: bool,
) -> dict[str, Any]:
    schema = PatientIn()
    for number, row in rows:
        report.total += 1
        if report.total > MAX_ROWS:
            raise BadRequest(f"Import at most {MAX_ROWS} patients at a time")
        if row is None:
            report.reject(number, {"_row": ["More values than columns"]})
            continue
        try:
            report.valid.append((number, schema.load(row)))
        except ValidationError as error:
            report.reject(number, error.normalized_messages())
    if report.total == 0:
        raise BadRequest("The import holds no patients")
    _refuse_known_numbers(session, report)
    report.errors.sort(key=lambda e: e[report.unit])
    if report.errors and not import_valid:
        raise BadRequest(
            f"{len(report.errors)} of {report.total} rows have errors; nothing was imported",
            details=report.summary(0),
        )
    patients = [new_patient(session, actor, values) for _, values in report.valid]
    session.flush()
    audit.record(
        session,
        actor,
        "patients_imported",
        resource_type=RESOURCE,
        detail={
            "imported": len(patients),
            "rejected": len(report.errors),
            "patient_ids": [p.id for p in patients],
        },
    )
    session.commit()
    return report.summary(len(patients))


def _refuse_known_numbers(session: Session, report: Report) -> None:
    """Reject rows whose ID or passport number is already registered, or repeats an
    earlier row of the same import."""
    for key in ("id_number", "passport_number"):
        numbers = [values[key] for _, values in report.valid if values.get(key)]
        taken = _existing(session, getattr(Patient, key), numbers)
        keep = []
        for number, values in report.valid:
            value = values.get(key)
            if value and value in taken:
                report.reject(number, {key: ["Already registered to another patient"]})
            else:
                keep.append((number, values))
                if value:
                    taken.add(value)
        report.valid = keep


def _existing(session: Session, column: Any, numbers: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(numbers), _CHUNK):
        chunk = numbers[start : start + _CHUNK]
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def _csv_rows(content: bytes) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(line number, cells) per data row; None for a row with more values than columns."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("The file is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    known = set(PatientIn().fields)
    unknown = [name for name in reader.fieldnames or [] if name not in known]
    if not reader.fieldnames or unknown:
        raise BadRequest(
            "The first line must name the columns, e.g. first_name,last_name,id_number",
            details={"unknown_columns": unknown},
        )
    for row in reader:
        yield reader.line_num, (None if None in row else _cells(row))


def _cells(row: dict[str, str]) -> dict[str, Any]:
    """Empty cells are absent; list columns are split on ';'."""
    cells: dict[str, Any] = {}
    for name, value in row.items():
        value = (value or "").strip()
        if not value:
            continue
        if name in LIST_COLUMNS:
            cells[name] = [item.strip() for item in value.split(LIST_SEPARATOR) if item.strip()]
        else:
            cells[name] = value
    return cells
