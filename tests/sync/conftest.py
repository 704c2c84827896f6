"""Sync tests run on both databases: the edge's SQLCipher file and the hub's MySQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine


@pytest.fixture(params=["sqlcipher", "mysql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    name = "edge_engine" if request.param == "sqlcipher" else "hub_engine"
    return request.getfixturevalue(name)
