"""The machine-readable description of the API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from common.api import endpoint
from common.openapi import build_openapi
from common.version import VERSION

bp = Blueprint("meta", __name__)


@bp.get("/api/openapi.json")
@endpoint(public=True)
def openapi() -> Any:
    """The OpenAPI 3 document of this app's API."""
    title = current_app.config["API_TITLE"]
    return jsonify(build_openapi(current_app, title, VERSION))
