"""The OpenAPI document, generated from the `endpoint` declarations of registered routes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

from common.api import endpoint_spec

_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def build_openapi(app: Flask, title: str, version: str) -> dict[str, Any]:
    spec = APISpec(
        title=title,
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": app.config["AUTH_COOKIE_NAME"]}
    )
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        declared = endpoint_spec(app.view_functions.get(rule.endpoint))
        if declared is None or declared.page or not rule.rule.startswith("/api"):
            continue
        path = _CONVERTER.sub(r"{\1}", rule.rule)
        operations = {
            method.lower(): _operation(declared, rule.arguments)
            for method in sorted(rule.methods or ())
            if method not in ("HEAD", "OPTIONS")
        }
        spec.path(path=path, operations=operations)
    return _numbers(spec.to_dict())


def _numbers(value: Any) -> Any:
    """The document with Decimal bounds (from `fields.Decimal` ranges) as JSON numbers:
    JSON would otherwise carry them as strings, which OpenAPI refuses as a `maximum`."""
    if isinstance(value, dict):
        return {key: _numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item) for item in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _schema_name(schema: Any) -> str:
    """Components named after their package noun, so two nouns' `StatusIn` never clash."""
    cls = schema if isinstance(schema, type) else type(schema)
    parts = cls.__module__.split(".")
    noun = parts[-2] if parts[-1] == "schemas" and len(parts) > 1 else parts[-1]
    return noun.title().replace("_", "") + cls.__name__.removesuffix("Schema")


def _operation(declared: Any, arguments: set[str]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": declared.summary,
        "parameters": [
            {"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
            for name in sorted(arguments)
        ],
        "responses": {str(declared.status): _response(declared)},
    }
    if declared.query is not None:
        operation["parameters"].append({"in": "query", "schema": declared.query})
    if declared.body is not None:
        operation["requestBody"] = {
            "required": not declared.body_optional,
            "content": {"application/json": {"schema": declared.body}},
        }
    if declared.public:
        operation["security"] = []
    else:
        operation["security"] = [{"bearer": []}, {"session": []}]
        operation["x-permission"] = declared.permission
        for status, text in (
            ("400", "Invalid input"),
            ("401", "Not authenticated"),
            ("403", "Not permitted"),
        ):
            operation["responses"][status] = {"description": text}
    return operation


def _response(declared: Any) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "type": "object",
        "properties": {"success": {"type": "boolean"}, "message": {"type": "string"}},
    }
    if declared.response is not None:
        data: Any = declared.response
        envelope["properties"]["data"] = {"type": "array", "items": data} if declared.many else data
    return {"description": "Success", "content": {"application/json": {"schema": envelope}}}
