"""Both apps share one contract: the envelope, the error shape, health and OpenAPI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from common.config import ConfigError
from tests.conftest import TEST_AUDIT_KEY, TEST_SECRET
from tests.support.apps import routes


@pytest.fixture(params=["edge", "hub"])
def app(request: pytest.FixtureRequest) -> Flask:
    return request.getfixturevalue(f"{request.param}_app")


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


def test_health_returns_the_envelope(app: Flask, client: Any) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True
    assert body["data"]["status"] == "ok"
    assert body["data"]["service"] == app.config["NODE_KIND"]


def test_detailed_health_needs_authentication(client: Any) -> None:
    response = client.get("/api/health/detailed")
    assert response.status_code == 401
    assert response.get_json() == {"success": False, "error": "Authentication required"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/no-such-thing", 404),
        ("DELETE", "/api/health", 405),
        ("POST", "/api/openapi.json", 405),
    ],
)
def test_errors_use_the_envelope(client: Any, method: str, path: str, status: int) -> None:
    response = client.open(path, method=method, headers={"Accept": "application/json"})
    assert response.status_code == status
    body = response.get_json()
    assert body["success"] is False and isinstance(body["error"], str) and body["error"]


def test_oversized_body_is_413_with_the_envelope(app: Flask, client: Any) -> None:
    too_big = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post("/api/health", data=too_big, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["success"] is False


def test_unexpected_errors_are_500_envelopes_without_details(app: Flask) -> None:
    @app.get("/api/test-boom")
    def boom() -> Any:  # undeclared, so the access check refuses it first ...
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/test-boom")
    assert response.status_code == 403
    from common.api import endpoint

    app.view_functions["boom"] = endpoint(public=True)(boom)  # ... declared, it crashes
    response = app.test_client().get("/api/test-boom")
    assert response.status_code == 500
    assert response.get_json() == {"success": False, "error": "Internal server error"}


# Written out here, not read from the product: a weakened policy must fail this test.
EXPECTED_CSP = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self'",
    "script-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'none'",
}


@pytest.mark.parametrize("path", ["/api/health", "/login"])
def test_security_headers(client: Any, path: str) -> None:
    response = client.get(path)
    directives = [d.strip() for d in response.headers["Content-Security-Policy"].split(";")]
    policy = dict(d.split(" ", 1) for d in directives if d)
    assert policy == EXPECTED_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_openapi_document_lists_the_api(client: Any) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/health" in document["paths"]
    assert document["paths"]["/api/health/detailed"]["get"]["x-permission"] == "system:read"


def test_every_route_declares_its_access(app: Flask) -> None:
    undeclared = [f"{r.method} {r.rule}" for r in routes(app) if r.spec is None]
    assert undeclared == []


def test_edge_factory_refuses_to_start_without_its_key(tmp_path: Path) -> None:
    from edge import create_app

    with pytest.raises(ConfigError, match="database key not found"):
        create_app(
            {
                "DATABASE_PATH": str(tmp_path / "edge.db"),
                "DB_KEY_FILE": str(tmp_path / "missing.key"),
                "SECRET_KEY": TEST_SECRET,
            }
        )
    assert not (tmp_path / "edge.db").exists()


def test_edge_factory_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    from edge import create_app

    key_file = tmp_path / "db.key"
    key_file.write_text("ab" * 32)
    key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        create_app(
            {
                "DB_KEY_FILE": str(key_file),
                "SECRET_KEY": TEST_SECRET,
                "DATABASE_PATH": str(tmp_path / "edge.db"),
            }
        )


def test_factories_have_no_side_effects(tmp_path: Path, edge_key: bytes) -> None:
    from edge import create_app as create_edge
    from hub import create_app as create_hub

    create_edge(
        {
            "DATABASE_PATH": str(tmp_path / "e.db"),
            "DB_KEY": edge_key.hex(),
            "SECRET_KEY": TEST_SECRET,
            "AUDIT_KEY": TEST_AUDIT_KEY.text(),
            "DATA_DIR": str(tmp_path / "edata"),
        }
    )
    create_hub(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
            "SECRET_KEY": TEST_SECRET,
            "AUDIT_KEY": TEST_AUDIT_KEY.text(),
            "DATA_DIR": str(tmp_path / "hdata"),
        }
    )
    assert list(tmp_path.iterdir()) == []
