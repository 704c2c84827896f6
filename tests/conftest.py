"""Shared fixtures: real SQLCipher files for the edge, a real MySQL database for the hub,
real Chromium for pages. Each test gets its own database state."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from common import auditseal
from common.auditseal import SealKey
from common.database import new_session, plain_engine, sqlcipher_engine
from common.node import HUB_NODE_ID, ensure_node
from schema import migrate
from tests.support import mysql
from tests.support.browser import CHROMIUM_FLAGS, chromium_path

# User, vehicle and token fixtures; the PALMED sandbox and hub processes.
pytest_plugins = [
    "tests.support.identity",
    "tests.support.palmed",
    "tests.support.sync",
    "tests.support.clinic",
    "tests.support.hubprocess",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--runs",
        type=int,
        default=1,
        help="multiply the volume of the resilience suites (examples, kill points) for a soak",
    )


TEST_SECRET = "test-signing-secret-" + "0" * 40
EDGE_NODE_ID = "dtest00000001"
# Every node of the tests seals its audit trail with this key: the apps (AUDIT_KEY below),
# the engines tests make themselves, and the served processes (its file, written by
# `tests.support.hubprocess`), so a test may verify any node's trail from here.
TEST_AUDIT_KEY = SealKey(bytes(range(32)))
auditseal.use_everywhere(TEST_AUDIT_KEY)


def migrated_edge_file(path: Path, key: bytes, node_id: str = EDGE_NODE_ID) -> Path:
    engine = sqlcipher_engine(path, key)
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        ensure_node(session, node_id, "edge")
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def edge_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture(scope="session")
def edge_template(tmp_path_factory: pytest.TempPathFactory, edge_key: bytes) -> Path:
    """An edge database migrated once per session; tests get copies of it."""
    return migrated_edge_file(tmp_path_factory.mktemp("template") / "edge.db", edge_key)


@pytest.fixture
def edge_db(tmp_path: Path, edge_template: Path) -> Path:
    path = tmp_path / "edge" / "edge.db"
    path.parent.mkdir()
    shutil.copyfile(edge_template, path)
    return path


def edge_config(db_path: Path, key: bytes, **extra: Any) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATA_DIR": str(db_path.parent),
        "DATABASE_PATH": str(db_path),
        "SECRETS_DIR": str(db_path.parent / "secrets"),
        "DB_KEY": key.hex(),
        "SECRET_KEY": TEST_SECRET,
        "AUDIT_KEY": TEST_AUDIT_KEY.text(),
        **extra,
    }


@pytest.fixture
def edge_app(edge_db: Path, edge_key: bytes) -> Iterator[Flask]:
    from edge import create_app

    app = create_app(edge_config(edge_db, edge_key))
    yield app
    _dispose(app)


@pytest.fixture
def edge_client(edge_app: Flask) -> Any:
    return edge_app.test_client()


@pytest.fixture
def edge_engine(edge_db: Path, edge_key: bytes) -> Iterator[Engine]:
    engine = sqlcipher_engine(edge_db, edge_key)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def hub_database_url() -> Iterator[str]:
    """A private MySQL database, migrated once for the session and dropped afterwards."""
    url = mysql.create_database()
    engine = plain_engine(url)
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        ensure_node(session, HUB_NODE_ID, "hub")
    engine.dispose()
    yield url
    mysql.drop_database(url)


@pytest.fixture
def hub_engine(hub_database_url: str) -> Iterator[Engine]:
    engine = plain_engine(hub_database_url)
    mysql.empty_tables(engine)
    yield engine
    engine.dispose()


def hub_config(url: str, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    from hub.sync.exchange import ensure_receipt_key

    key_file = tmp_path / "hub" / "sync-receipt.key"
    ensure_receipt_key(key_file)
    return {
        "TESTING": True,
        "DATA_DIR": str(tmp_path / "hub"),
        "DATABASE_URL": url,
        "SECRET_KEY": TEST_SECRET,
        "SYNC_KEY_FILE": str(key_file),
        "AUDIT_KEY": TEST_AUDIT_KEY.text(),
        **extra,
    }


@pytest.fixture
def hub_app(hub_engine: Engine, hub_database_url: str, tmp_path: Path) -> Iterator[Flask]:
    from hub import create_app

    app = create_app(hub_config(hub_database_url, tmp_path))
    yield app
    _dispose(app)


@pytest.fixture
def hub_client(hub_app: Flask) -> Any:
    return hub_app.test_client()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    yield page
    context.close()


def _dispose(app: Flask) -> None:
    from common.database import db

    with app.app_context():
        db.engine.dispose()
