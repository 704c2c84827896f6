"""Invariant 7 of the issue: the same person registered offline on two vehicles is
flagged at the hub, merged through the API, and the merge reaches every vehicle."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import text

from common.database import new_session
from tests.support import rows
from tests.support.identity import Staff
from tests.support.sync import Net, count, table_rows
from tests.support.tables import AUDIT_TABLES, row_counts
from tests.sync.test_protocol import visit


def test_a_person_registered_on_two_vehicles_is_flagged_merged_and_synced(
    sync_net: Callable[[], Net], hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    ids = {}
    for edge in (a, b):
        with new_session(edge.engine) as session, session.begin():
            patient = rows.patient(session, id_number="8503145800083", first_name=edge.name)
            visit(session, patient, edge.vehicle_id)
            ids[edge.name] = patient.id
        edge.sync()
    admin = hub_user("administrator")
    pairs = hub_client.get("/api/patients/duplicates", headers=admin.headers).get_json()
    assert [(p["reason"], {p["patient_a_id"], p["patient_b_id"]}) for p in pairs["data"]] == [
        ("id_number", set(ids.values()))
    ]
    merged = hub_client.post(
        "/api/patients/merge",
        json={"winner_id": ids["A"], "loser_id": ids["B"]},
        headers=admin.headers,
    )
    assert merged.status_code == 200, merged.get_json()
    a.sync(), b.sync()
    loser = [r for r in table_rows(b.engine, "patient") if r["id"] == ids["B"]][0]
    assert (loser["status"], loser["merged_into_id"]) == ("merged", ids["A"])
    [b_visit] = table_rows(b.engine, "visit")
    assert b_visit["patient_id"] == ids["A"]
    assert count(b.engine, "SELECT count(*) FROM patient WHERE id = :i", i=ids["A"]) == 1
    left = hub_client.get("/api/patients/duplicates", headers=admin.headers).get_json()
    assert left["data"] == []


def test_merging_bad_pairs_is_refused_and_changes_nothing(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Any
) -> None:
    admin = hub_user("administrator")
    with new_session(hub_engine) as session, session.begin():
        patient = rows.patient(session)
    before = row_counts(hub_engine, ignore=AUDIT_TABLES)
    for body, status in (
        ({"winner_id": patient.id, "loser_id": patient.id}, 400),
        ({"winner_id": patient.id, "loser_id": "nope"}, 404),
        ({"winner_id": patient.id}, 400),
    ):
        response = hub_client.post("/api/patients/merge", json=body, headers=admin.headers)
        assert response.status_code == status
    assert row_counts(hub_engine, ignore=AUDIT_TABLES) == before


def test_conflicts_are_listed_and_resolved(
    sync_net: Callable[[], Net], hub_client: Any, hub_user: Callable[..., Staff]
) -> None:
    from schema.models import Patient

    net = sync_net()
    a, b = net.edge("A"), net.edge("B")
    with new_session(a.engine) as session, session.begin():
        patient = rows.patient(session)
        visit(session, patient, a.vehicle_id)
    a.sync()
    with new_session(net.hub_engine) as session, session.begin():
        visit(session, session.get(Patient, patient.id), b.vehicle_id)
    b.sync()
    for edge, allergy in ((a, "penicillin"), (b, "sulfa")):
        with new_session(edge.engine) as session, session.begin():
            session.get(Patient, patient.id).allergies = [allergy]
    a.sync(), b.sync()
    admin = hub_user("administrator")
    [conflict] = hub_client.get("/api/sync/conflicts", headers=admin.headers).get_json()["data"]
    assert conflict["column_name"] == "allergies"
    resolved = hub_client.post(
        f"/api/sync/conflicts/{conflict['id']}/resolve",
        json={"value": ["penicillin"]},
        headers=admin.headers,
    )
    assert resolved.status_code == 200 and resolved.get_json()["data"]["status"] == "resolved"
    a.sync(), b.sync()
    for edge in (a, b):
        assert [r["allergies"] for r in table_rows(edge.engine, "patient")] == [["penicillin"]]
    again = hub_client.post(
        f"/api/sync/conflicts/{conflict['id']}/resolve", json={}, headers=admin.headers
    )
    assert again.status_code == 409


def test_reading_conflicts_is_audited(
    hub_client: Any, hub_user: Callable[..., Staff], hub_engine: Any
) -> None:
    admin = hub_user("administrator")
    before = count(
        hub_engine, "SELECT count(*) FROM audit_record WHERE resource_type = 'sync_conflict'"
    )
    assert hub_client.get("/api/sync/conflicts", headers=admin.headers).status_code == 200
    after = count(
        hub_engine, "SELECT count(*) FROM audit_record WHERE resource_type = 'sync_conflict'"
    )
    assert after == before + 1


def test_every_rule_pairs_a_pushed_patient_once_with_the_first_reason_that_holds(
    sync_net: Callable[[], Net], hub_engine: Any
) -> None:
    """Several patients arrive in one push; each is paired with each match at the hub,
    under the first rule that holds: ID number, then medical aid, then names and birth."""
    net = sync_net()
    a, b = net.edge("A"), net.edge("B")

    def person(session: Any, n: int, **extra: Any) -> Any:
        names = {"first_name": f"Person{n}", "date_of_birth": dt.date(1980, 1, n)}
        return rows.patient(session, **(names | extra))

    with new_session(a.engine) as session, session.begin():
        known = {
            "id": person(session, 1, id_number="8503145800083", medical_aid_number="M1"),
            "aid": person(session, 2, medical_aid_number="M2", dependant_code="01"),
            "name": person(session, 3, first_name="Thandi", last_name="Zulu"),
        }
        for patient in known.values():
            visit(session, patient, a.vehicle_id)
    a.sync()
    with new_session(b.engine) as session, session.begin():
        arrived = {
            "id": person(session, 4, id_number="8503145800083", medical_aid_number="M1"),
            "aid": person(session, 5, medical_aid_number="M2", dependant_code="01"),
            "other dependant": person(session, 6, medical_aid_number="M2", dependant_code="02"),
            "name": person(
                session, 7, first_name="THANDI", last_name="zulu", date_of_birth=dt.date(1980, 1, 3)
            ),
        }
        for patient in arrived.values():
            visit(session, patient, b.vehicle_id)
    b.sync()

    def pairs() -> dict[frozenset[str], str]:
        query = "SELECT patient_a_id, patient_b_id, reason FROM patient_duplicate"
        with hub_engine.connect() as connection:
            return {frozenset(row[:2]): row[2] for row in connection.execute(text(query))}

    assert pairs() == {
        frozenset((known["id"].id, arrived["id"].id)): "id_number",
        frozenset((known["aid"].id, arrived["aid"].id)): "medical_aid",
        frozenset((known["name"].id, arrived["name"].id)): "name_and_birth",
    }
    assert count(hub_engine, "SELECT count(*) FROM patient_duplicate") == 3
