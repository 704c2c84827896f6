"""Encodings shared by our sealed JSON documents (wrapped keys, escrow blobs)."""

from __future__ import annotations

import base64
import json
from typing import Any


def canonical(header: dict[str, Any]) -> bytes:
    """The exact bytes a header is authenticated as (AES-GCM associated data)."""
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def require_text(data: dict[str, Any], *fields: str) -> None:
    """Raise KeyError or TypeError unless every field is present and a string."""
    for field in fields:
        if not isinstance(data[field], str):
            raise TypeError(field)
