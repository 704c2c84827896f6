"""Malformed JSON and wrong content types are 400s, never 500s."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields

from common.api import endpoint, ok


@pytest.fixture
def echo_client(edge_app: Flask) -> Any:
    class EchoSchema(Schema):
        name = fields.String(required=True)

    @edge_app.post("/api/test-echo")
    @endpoint(public=True, body=EchoSchema)
    def echo(body: dict[str, Any]) -> Any:
        return ok(body)

    return edge_app.test_client()


def test_valid_json_reaches_the_view(echo_client: Any) -> None:
    response = echo_client.post("/api/test-echo", json={"name": "Thabo"})
    assert response.status_code == 200
    assert response.get_json()["data"] == {"name": "Thabo"}


@pytest.mark.parametrize(
    ("data", "content_type", "error"),
    [
        ("{not json", "application/json", "not valid JSON"),
        ('{"name": "x"}', "text/plain", "Content-Type: application/json"),
        ("", "application/json", "not valid JSON"),
        ("[1, 2]", "application/json", "Invalid input"),
        ('{"name": 5}', "application/json", "Invalid input"),
        ('{"name": "x", "extra": 1}', "application/json", "Invalid input"),
        ("{}", "application/json", "Invalid input"),
    ],
)
def test_bad_bodies_are_400(echo_client: Any, data: str, content_type: str, error: str) -> None:
    response = echo_client.post("/api/test-echo", data=data, content_type=content_type)
    assert response.status_code == 400
    body = response.get_json()
    assert body["success"] is False
    assert error in body["error"]
