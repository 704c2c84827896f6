"""Column values on the wire: one canonical JSON form per column type, checked on the way in.

Values are read and written through SQLAlchemy's column types, so SQLite and MySQL give
the same JSON for the same value, and anything a peer sends that does not fit the column
(wrong type, too long, not a date) is refused before it reaches the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, Date, DateTime, Enum, Integer, Numeric, String
from sqlalchemy.types import Boolean, TypeDecorator


class DecodeError(ValueError):
    """A value from a peer does not fit its column."""


def _base_type(column: Column[Any]) -> Any:
    kind = column.type
    if isinstance(kind, TypeDecorator):
        return kind, kind.impl_instance
    return kind, kind


def encode(column: Column[Any], value: Any) -> Any:
    """The canonical JSON form of a Python value of `column`."""
    if value is None:
        return None
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return _timestamp_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | dict):
        return value
    raise TypeError(f"cannot encode {type(value).__name__} for column {column.name}")


def encoder(column: Column[Any]) -> Callable[[Any], Any] | None:
    """`encode` for the values of `column`, or None where the database's values travel as
    they are (text, whole numbers, booleans): a snapshot encodes millions of values, and
    most of them need nothing. Timestamps, the costly rest, go straight to their text."""
    outer, base = _base_type(column)
    kind = getattr(outer, "sync_kind", None)
    plain = isinstance(base, String | Integer | Boolean) and not isinstance(base, Enum)
    if plain and kind is None:
        return None
    if kind == "utc_datetime" or isinstance(base, DateTime):

        def timestamp(value: Any) -> Any:
            if type(value) is dt.datetime:
                return _timestamp_text(value)
            return encode(column, value)

        return timestamp
    return functools.partial(encode, column)


def _timestamp_text(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def decode(column: Column[Any], raw: Any) -> Any:
    """The Python value for `column` from its canonical JSON form; DecodeError if unfit."""
    return decoder(column)(raw)


@functools.cache
def decoder(column: Column[Any]) -> Callable[[Any], Any]:
    """`decode` for the values of `column`, its type resolved once per column (a snapshot
    decodes millions of values of a few dozen columns, an applied batch thousands)."""
    outer, base = _base_type(column)
    name, nullable = column.name, column.nullable
    convert = _converter(outer, base)

    def decode_value(raw: Any) -> Any:
        if raw is None:
            if not nullable:
                raise DecodeError(f"{name} may not be empty")
            return None
        try:
            return convert(raw, base, name)
        except DecodeError:
            raise
        except (ValueError, TypeError, InvalidOperation) as error:
            raise DecodeError(f"{name}: {error}") from None

    return decode_value


Converter = Callable[[Any, Any, str], Any]  # (raw value, not None; column type; name) -> value


def _converter(outer: Any, base: Any) -> Converter:
    kind = getattr(outer, "sync_kind", None)  # custom column types say how they travel
    if kind == "json":
        return _json_value
    if kind == "utc_datetime" or isinstance(base, DateTime):
        return _timestamp
    arms: list[tuple[type[Any], Converter]] = [
        (Boolean, _boolean),
        (Integer, _whole),
        (Numeric, _decimal),
        (Date, _date),
        (String, _text),  # Text too
    ]
    return next((arm for kind_, arm in arms if isinstance(base, kind_)), _unfit)


def _json_value(raw: Any, base: Any, name: str) -> Any:
    if not isinstance(raw, list | dict):
        raise DecodeError(f"{name} must be a JSON list or object")
    return raw


def _timestamp(raw: Any, base: Any, name: str) -> dt.datetime:
    if not isinstance(raw, str):
        raise DecodeError(f"{name} must be a timestamp")
    value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise DecodeError(f"{name} must carry a time zone")
    return value.astimezone(dt.UTC)


def _boolean(raw: Any, base: Any, name: str) -> bool:
    if not isinstance(raw, bool):
        raise DecodeError(f"{name} must be true or false")
    return raw


def _whole(raw: Any, base: Any, name: str) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise DecodeError(f"{name} must be a whole number")
    return raw


def _decimal(raw: Any, base: Any, name: str) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise DecodeError(f"{name} must be a decimal in a string")
    number = Decimal(str(raw))
    if not number.is_finite():
        raise DecodeError(f"{name} must be a finite number")
    _fits(number, base, name)
    return number


def _date(raw: Any, base: Any, name: str) -> dt.date:
    if not isinstance(raw, str):
        raise DecodeError(f"{name} must be a date")
    return dt.date.fromisoformat(raw)


def _text(raw: Any, base: Any, name: str) -> str:
    if not isinstance(raw, str):
        raise DecodeError(f"{name} must be text")
    length = getattr(base, "length", None)
    if length is not None and len(raw) > length:
        raise DecodeError(f"{name} is longer than {length} characters")
    return raw


def _unfit(raw: Any, base: Any, name: str) -> Any:
    raise DecodeError(f"{name} has a type sync cannot carry")


def _fits(number: Decimal, kind: Numeric[Any], name: str) -> None:
    """Refuse a decimal the column would round or overflow."""
    exponent = number.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if kind.scale is not None and places > kind.scale:
        raise DecodeError(f"{name} has more than {kind.scale} decimal places")
    if kind.precision is not None and kind.scale is not None:
        whole = len(str(abs(int(number)))) if int(number) else 0
        if whole > kind.precision - kind.scale:
            raise DecodeError(f"{name} is too large")


def canonical(value: Any) -> bytes:
    """Stable bytes of a JSON value, for digests and signatures."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
