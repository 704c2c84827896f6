"""The API contract: the response envelope, pagination, and the `endpoint` declaration.

Every view is declared with `endpoint(...)`: the permission it needs (or `public=True`),
the marshmallow schemas of its body, query and response. The declaration is what the
access check, the OpenAPI document and the route-by-role test all read, so a route
cannot exist without saying who may call it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import jsonify, request
from marshmallow import Schema, fields, validate

from common.errors import BadRequest
from common.permission import require_known

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class EndpointSpec:
    permission: str | None
    public: bool
    page: bool
    body: type[Schema] | None
    body_optional: bool
    query: type[Schema] | None
    response: type[Schema] | None
    many: bool
    status: int
    summary: str
    device: bool = False  # public to people, but only an enrolled device's signature passes


def endpoint(
    permission: str | None = None,
    *,
    public: bool = False,
    page: bool = False,
    body: type[Schema] | None = None,
    body_optional: bool = False,
    query: type[Schema] | None = None,
    response: type[Schema] | None = None,
    many: bool = False,
    status: int = 200,
    device: bool = False,
) -> Callable[[F], F]:
    """Declare a view: who may call it and what it takes. Validated input arrives as
    `body=` and `query=` keyword arguments; invalid input never reaches the view. With
    `body_optional`, a request without a body is loaded as an empty object. `device`
    marks a public route that checks a device's request signature itself."""
    if (permission is None) == (not public):
        raise TypeError("declare exactly one of a permission or public=True")
    if permission is not None:
        require_known(permission)

    def decorate(view: F) -> F:
        spec = EndpointSpec(
            permission,
            public,
            page,
            body,
            body_optional,
            query,
            response,
            many,
            status,
            (view.__doc__ or view.__name__).strip().splitlines()[0],
            device,
        )

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if body is not None:
                kwargs["body"] = body().load(json_body(allow_empty=body_optional))
            if query is not None:
                kwargs["query"] = query().load(request.args.to_dict())
            return view(*args, **kwargs)

        wrapper.endpoint_spec = spec  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def endpoint_spec(view: Callable[..., Any] | None) -> EndpointSpec | None:
    return getattr(view, "endpoint_spec", None)


def json_body(allow_empty: bool = False) -> Any:
    """The request's JSON body, or a 400 that says what was wrong with it."""
    if allow_empty and not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise BadRequest("Send a JSON body with Content-Type: application/json")
    data = request.get_json(silent=True)
    if data is None:
        raise BadRequest("The request body is not valid JSON")
    return data


def ok(data: Any = None, message: str | None = None, status: int = 200) -> Any:
    response = jsonify({"success": True, "data": data, "message": message})
    response.status_code = status
    return response


def created(data: Any, message: str | None = None) -> Any:
    return ok(data, message, 201)


def paginated(items: list[Any], page: int, per_page: int, total: int) -> Any:
    return jsonify(
        {
            "success": True,
            "data": items,
            "message": None,
            "pagination": {
                "page": page,
                "per_page": per_page,
                "total": total,
                "pages": max(1, math.ceil(total / per_page)),
            },
        }
    )


class PageQuery(Schema):
    """Pagination parameters every list endpoint accepts."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
