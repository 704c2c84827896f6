"""The fleet-wide report queries use an index on MySQL, checked with EXPLAIN over enough
rows (two years of three vehicles) that a full scan would show."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.sql import Select

from common.database import new_session
from hub.report import service
from hub.scope import FLEET
from schema.base import new_id, utcnow
from schema.models import Claim, Diagnosis, Visit
from tests.hub import fleet_rows
from tests.support import rows

DAYS = 730
START = dt.date(2025, 1, 1)


@pytest.fixture
def history(hub_engine: Engine) -> None:
    """Three vehicles with a visit, a diagnosis and a claim each on every day of two years."""
    with new_session(hub_engine) as session, session.begin():
        vehicles = [rows.vehicle(session).id for _ in range(3)]
        patient = rows.patient(session).id
        item = fleet_rows.item(session)
        fleet_rows.stock(session, vehicles[0], item, 10, START)
        visits, claims = [], []
        now = utcnow()
        for day in range(DAYS):
            for vehicle in vehicles:
                visit = {
                    "id": new_id(),
                    "patient_id": patient,
                    "vehicle_id": vehicle,
                    "visit_date": START + dt.timedelta(days=day),
                    "stage": "closure",
                    "status": "closed",
                    "opened_by": fleet_rows.ACTOR,
                    "opened_at": now,
                }
                visits.append(visit)
                claims.append(
                    {
                        "id": new_id(),
                        "visit_id": visit["id"],
                        "patient_id": patient,
                        "vehicle_id": vehicle,
                        "service_date": visit["visit_date"],
                        "icd10_codes": [],
                        "total_amount": 100,
                        "status": "paid",
                        "problems": [],
                        "rejection_codes": [],
                        "created_by": fleet_rows.ACTOR,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.add_all([Visit(**values) for values in visits])  # stamped like any write
        session.flush()
        session.add_all([Claim(**values) for values in claims])
        for values in visits:
            session.add(
                Diagnosis(
                    visit_id=values["id"],
                    patient_id=patient,
                    vehicle_id=values["vehicle_id"],
                    icd10_code="J06.9",
                    description="URTI",
                    recorded_by=fleet_rows.ACTOR,
                    recorded_at=now,
                )
            )
    with hub_engine.connect() as connection:
        for table in ("visit", "claim", "diagnosis", "stock_movement"):
            connection.exec_driver_sql(f"ANALYZE TABLE `{table}`").all()


def explain(engine: Engine, query: Select[Any]) -> list[dict[str, Any]]:
    compiled = query.compile(dialect=engine.dialect)
    with engine.connect() as connection:
        result = connection.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params)
        return [dict(row._mapping) for row in result]


MONTH = service.Scope(START + dt.timedelta(days=300), START + dt.timedelta(days=329), FLEET)


@pytest.mark.parametrize(
    ("query", "table", "index"),
    [
        (service.visits_query(MONTH), "visit", "ix_visit_date_stage"),
        (service.claims_query(MONTH), "claim", "ix_claim_service_date"),
        (service.stock_usage_query(MONTH), "stock_movement", "ix_stock_movement_occurred"),
        (service.diagnoses_query(MONTH), "visit", "ix_visit_date_stage"),
    ],
    ids=["visits", "claims", "stock-usage", "diagnoses"],
)
def test_a_months_fleet_report_reads_through_an_index(
    hub_engine: Engine, history: None, query: Select[Any], table: str, index: str
) -> None:
    plan = {row["table"]: row for row in explain(hub_engine, query)}
    step = plan[table]
    assert step["type"] != "ALL", plan  # never a full table scan
    assert step["key"] == index, plan
    assert int(step["rows"]) < DAYS * 3 / 4, plan  # a month's rows, not two years'
    assert all(row["type"] != "ALL" or row["table"] == "vehicle" for row in plan.values()), plan
