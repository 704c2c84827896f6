"""One error shape for every failure: `{"success": false, "error": "..."}` with the right status.

API routes (under /api) always answer JSON; pages get a small HTML error page instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from marshmallow import ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class APIError(Exception):
    """An expected failure with a status code and a message safe to show the user."""

    status = 400

    def __init__(self, message: str, *, details: Any = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if status is not None:
            self.status = status


class BadRequest(APIError):
    status = 400


class Unauthorized(APIError):
    status = 401


class Forbidden(APIError):
    status = 403


class NotFound(APIError):
    status = 404


class Conflict(APIError):
    status = 409


_MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "You do not have permission to do this",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests; try again later",
    500: "Internal server error",
    503: "Service unavailable",
}


def error_response(status: int, message: str, details: Any = None) -> Any:
    pages = current_app.config.get("ERROR_PAGES", True)
    if pages and not request.path.startswith("/api") and request.accept_mimetypes.accept_html:
        page = render_template("error.html", status=status, message=message)
        return page, status
    body: dict[str, Any] = {"success": False, "error": message}
    if details is not None:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def register_error_handlers(app: Flask, *, pages: bool = True) -> None:
    """Turn every exception into the envelope; nothing escapes as a bare 500 page.
    `pages=False` answers JSON on every path, for an app only programs call."""
    app.config["ERROR_PAGES"] = pages

    @app.errorhandler(APIError)
    def api_error(error: APIError) -> Any:
        return error_response(error.status, error.message, error.details)

    @app.errorhandler(ValidationError)
    def validation_error(error: ValidationError) -> Any:
        return error_response(400, "Invalid input", error.normalized_messages())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        status = error.code or 500
        message = _MESSAGES.get(status, error.name)
        response = error_response(status, message)
        if status == 405 and hasattr(response, "headers"):
            allowed = error.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> Any:
        log.error("database error on %s %s: %s", request.method, request.path, error.orig)
        return error_response(503, "The database is unavailable; nothing was saved")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, _MESSAGES[500])
