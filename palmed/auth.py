"""API keys: one for the scheme API (what the hub holds), one for sandbox control, so a
client can never change the faults or the roster it is being tested against."""

from __future__ import annotations

import hmac

from flask import current_app, request

from common.errors import Forbidden, Unauthorized


def presented_key() -> str:
    """The key in `X-API-Key` or `Authorization: Bearer ...`, or an empty string."""
    key = request.headers.get("X-API-Key", "")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not key and scheme.lower() == "bearer":
        key = token.strip()
    return key


def require_api_key() -> None:
    if not _matches(presented_key(), current_app.config["API_KEY"]):
        raise Unauthorized("A valid API key is required (X-API-Key or Authorization: Bearer)")


def require_admin_key() -> None:
    key = presented_key()
    if _matches(key, current_app.config["ADMIN_KEY"]):
        return
    if _matches(key, current_app.config["API_KEY"]):
        raise Forbidden("Sandbox control needs the admin key, not the scheme API key")
    raise Unauthorized("The sandbox admin key is required (X-API-Key or Authorization: Bearer)")


def _matches(presented: str, expected: str) -> bool:
    return bool(presented) and hmac.compare_digest(presented.encode(), expected.encode())
