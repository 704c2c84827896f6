"""Head office searches and exports the audit trail (administrators only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common import audit
from common.audit import Entry, Who
from common.database import new_session
from schema.models import AuditRecord
from tests.support.identity import Staff
from tests.support.tables import AUDIT_TABLES, row_counts

NURSE = Who("u-nurse", "sister", "nurse", "10.1.1.7", "tablet", "vehicle-1")
CLERK = Who("u-clerk", "clerk", "clerk", "10.1.1.8", '=HYPERLINK("x")', "vehicle-2")


@pytest.fixture
def trail(hub_engine: Engine) -> None:
    """A few records: reads of two patients by a nurse, a denied clerk."""
    with new_session(hub_engine) as session, session.begin():
        for patient in ("p-1", "p-2", "p-1"):
            entry = Entry("read", resource_type="patient", resource_id=patient, patient_id=patient)
            audit.append(session, NURSE, entry)
        audit.append(session, CLERK, Entry("access_denied", audit.DENIED, detail={"path": "/x"}))


def search(client: Any, admin: Staff, query: str = "") -> dict[str, Any]:
    response = client.get(f"/api/audit{query}", headers=admin.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_search_filters_and_pages(
    hub_client: Any, hub_user: Callable[..., Staff], trail: None
) -> None:
    admin = hub_user("administrator")
    everything = search(hub_client, admin)
    assert everything["pagination"]["total"] == 4
    assert everything["data"][0]["action"] == "access_denied"  # newest first
    assert search(hub_client, admin, "?patient=p-1")["pagination"]["total"] == 2
    assert search(hub_client, admin, "?user=sister")["pagination"]["total"] == 3
    assert search(hub_client, admin, "?user=u-clerk")["pagination"]["total"] == 1
    assert search(hub_client, admin, "?vehicle=vehicle-2&outcome=denied")["data"][0]["role"] == (
        "clerk"
    )
    assert search(hub_client, admin, "?action=read&per_page=2&page=2")["pagination"] == {
        "page": 2,
        "per_page": 2,
        "total": 3,
        "pages": 2,
    }
    first = everything["data"][-1]
    assert first["retention_until"] > first["at"][:10]
    since = search(hub_client, admin, "?since=2000-01-01T00:00:00&until=2000-01-02T00:00:00")
    assert since["pagination"]["total"] == 0
    now = search(hub_client, admin, f"?since={first['at'].replace('+', '%2B')}")
    assert now["pagination"]["total"] == 4


@pytest.mark.parametrize(
    "query",
    ["?since=yesterday", "?outcome=maybe", "?per_page=0", "?patient=" + "x" * 40, "?nope=1"],
)
def test_bad_filters_are_400(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, query: str
) -> None:
    admin = hub_user("administrator")
    before = row_counts(hub_engine)
    response = hub_client.get(f"/api/audit{query}", headers=admin.headers)
    assert response.status_code == 400 and response.get_json()["success"] is False
    assert row_counts(hub_engine) == before


def test_csv_export(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine, trail: None
) -> None:
    admin = hub_user("administrator")
    response = hub_client.get("/api/audit/export.csv?user=clerk", headers=admin.headers)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["access_denied"]
    assert rows[0]["user_agent"].startswith("'=")  # no formula runs in a spreadsheet
    assert rows[0]["detail"] == '{"path": "/x"}'
    with hub_engine.connect() as connection:
        export = connection.execute(select(AuditRecord).filter_by(action="export")).one()
    assert export.user_id == admin.id and export.detail == {"user": "clerk"}


def test_only_administrators_read_the_audit_trail(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Engine
) -> None:
    viewer = hub_user("viewer")
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    for path in ("/api/audit", "/api/audit/export.csv"):
        assert hub_client.get(path, headers=viewer.headers).status_code == 403
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before
