"""The per-column encoders and decoders the snapshot uses give exactly what `encode` and
`decode` give, for every synced column, and refuse what they refuse."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Date, DateTime, Integer, Numeric

import schema
from sync import codec


def sample(column: Column[Any]) -> Any:
    """A value that fits `column`, of the Python type its database values have."""
    kind = column.type
    if getattr(kind, "sync_kind", None) == "json":
        return ["penicillin", {"dose": "5 ml"}]
    if isinstance(kind, DateTime) or getattr(kind, "sync_kind", None) == "utc_datetime":
        return dt.datetime(2026, 12, 1, 8, 30, 15, 250, tzinfo=dt.UTC)
    values: list[tuple[type[Any], Any]] = [
        (Boolean, True),
        (Integer, 7),
        (Numeric, Decimal("3")),
        (Date, dt.date(1980, 2, 29)),
    ]
    for kind_, value in values:
        if isinstance(kind, kind_):
            return value
    return "x"  # text; one character fits every length


def test_per_column_encoders_and_decoders_agree_with_encode_and_decode() -> None:
    checked = 0
    for table in schema.synced_tables().values():
        for column in table.columns:
            value = sample(column)
            wire = codec.encode(column, value)
            fast = codec.encoder(column)
            assert (value if fast is None else fast(value)) == wire, column
            assert fast is None or fast(None) is None
            assert codec.decoder(column)(wire) == codec.decode(column, wire) == value, column
            checked += 1
    assert checked > 300


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("first_name", "x" * 81, "longer than 80"),
        ("first_name", None, "may not be empty"),
        ("date_of_birth", "1 May 1980", "date_of_birth"),
        ("created_at", "2026-12-01T08:30:00", "time zone"),
        ("allergies", "penicillin", "JSON list or object"),
    ],
)
def test_a_decoder_refuses_what_decode_refuses(name: str, raw: Any, message: str) -> None:
    column = schema.synced_tables()["patient"].c[name]
    with pytest.raises(codec.DecodeError, match=message):
        codec.decoder(column)(raw)
    with pytest.raises(codec.DecodeError, match=message):
        codec.decode(column, raw)
