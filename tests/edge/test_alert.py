"""Alerts on the edge: raised once per condition, acknowledged, resolved, escalated."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, select

from common.database import new_session, write_intent
from edge import jobs
from edge.alert import service
from schema.models import Alert, AlertEscalation
from tests.support.identity import make_vehicle
from tests.support.tables import AUDIT_TABLES, row_counts


def raise_one(engine: Engine, vehicle_id: str | None, **extra: Any) -> str:
    values = {
        "kind": "critical_vital",
        "priority": "critical",
        "title": "Systolic pressure 210",
        "dedupe_key": None,
        **extra,
    }
    with write_intent(), new_session(engine) as session, session.begin():
        return service.raise_alert(session, vehicle_id=vehicle_id, **values).id


def test_raise_alert_deduplicates_until_resolved(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    first = raise_one(edge_engine, edge_vehicle, priority="medium", dedupe_key="low_stock:x")
    again = raise_one(edge_engine, edge_vehicle, priority="high", dedupe_key="low_stock:x")
    assert again == first
    with edge_engine.connect() as connection:
        assert connection.scalar(select(Alert.priority).where(Alert.id == first)) == "high"
    nurse = edge_user("nurse")
    resolved = edge_client.post(f"/api/alerts/{first}/resolve", headers=nurse.headers)
    assert resolved.status_code == 200
    assert raise_one(edge_engine, edge_vehicle, dedupe_key="low_stock:x") != first


def test_raise_alert_refuses_unknown_kinds(edge_engine: Engine, edge_vehicle: str) -> None:
    with pytest.raises(ValueError):
        raise_one(edge_engine, edge_vehicle, kind="rumour")


def test_acknowledge_and_resolve_record_who_and_when(
    edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str
) -> None:
    low = raise_one(edge_engine, edge_vehicle, priority="low", kind="stale_sync", title="No sync")
    critical = raise_one(edge_engine, edge_vehicle)
    nurse = edge_user("nurse")
    listed = edge_client.get("/api/alerts?status=open", headers=nurse.headers).get_json()
    assert [a["id"] for a in listed["data"]] == [critical, low]  # most urgent first
    acked = edge_client.post(f"/api/alerts/{critical}/acknowledge", headers=nurse.headers)
    assert acked.status_code == 200
    data = acked.get_json()["data"]
    assert data["status"] == "acknowledged" and data["acknowledged_by"] == nurse.id
    assert data["acknowledged_at"] is not None
    twice = edge_client.post(f"/api/alerts/{critical}/acknowledge", headers=nurse.headers)
    assert twice.status_code == 409
    doctor = edge_user("doctor")
    done = edge_client.post(f"/api/alerts/{critical}/resolve", headers=doctor.headers).get_json()
    assert done["data"]["resolved_by"] == doctor.id
    assert (
        edge_client.post(f"/api/alerts/{critical}/resolve", headers=doctor.headers).status_code
        == 409
    )
    still_open = edge_client.get("/api/alerts?status=open", headers=nurse.headers).get_json()
    assert [a["id"] for a in still_open["data"]] == [low]


def test_alerts_of_another_vehicle_are_out_of_reach(
    edge_client: Any, edge_user: Any, edge_engine: Engine
) -> None:
    other = raise_one(edge_engine, make_vehicle(edge_engine))
    nurse = edge_user("nurse")
    before = row_counts(edge_engine)
    assert (
        edge_client.post(f"/api/alerts/{other}/acknowledge", headers=nurse.headers).status_code
        == 404
    )
    assert edge_client.get("/api/alerts", headers=nurse.headers).get_json()["data"] == []
    assert row_counts(edge_engine, ignore=AUDIT_TABLES) == {
        k: v for k, v in before.items() if k not in AUDIT_TABLES
    }


@pytest.mark.parametrize(
    "query", ["status=gone", "priority=urgent", "kind=x", "page=0", "per_page=1000"]
)
def test_bad_alert_queries_are_400(edge_client: Any, edge_user: Any, query: str) -> None:
    response = edge_client.get(f"/api/alerts?{query}", headers=edge_user("nurse").headers)
    assert response.status_code == 400


def test_unacknowledged_urgent_alerts_escalate_on_schedule(
    edge_engine: Engine, edge_vehicle: str
) -> None:
    critical = raise_one(edge_engine, edge_vehicle)
    acked = raise_one(edge_engine, edge_vehicle, title="acknowledged")
    medium = raise_one(edge_engine, edge_vehicle, priority="medium", kind="low_stock", title="m")
    after = dt.timedelta(minutes=30)
    with new_session(edge_engine) as session, session.begin():
        for alert in session.scalars(select(Alert)):
            alert.created_at -= dt.timedelta(minutes=65)
        session.get_one(Alert, acked).status = "acknowledged"
    assert jobs.escalate_alerts(edge_engine, 30) == 1
    assert jobs.escalate_alerts(edge_engine, 30) == 0  # nothing more until another interval
    with write_intent(), new_session(edge_engine) as session, session.begin():
        later = service.escalate_overdue(session, dt.datetime.now(dt.UTC) + after, after)
        assert [a.id for a in later] == [critical]
    with edge_engine.connect() as connection:
        levels = dict(connection.execute(select(Alert.id, Alert.escalation_level)).all())
        steps = connection.execute(
            select(AlertEscalation.from_level, AlertEscalation.to_level).order_by(
                AlertEscalation.at
            )
        ).all()
    assert levels == {critical: 3, acked: 0, medium: 0}
    assert steps == [(0, 2), (2, 3)]
