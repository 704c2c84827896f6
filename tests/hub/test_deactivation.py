"""A vehicle's visit for a patient another vehicle or head office deactivated meanwhile:
the hub applies the visit as recorded and alerts that vehicle, once per visit, naming the
visit and who deactivated the patient; the alert reaches the vehicle by sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, event, select

from common.database import new_session
from hub.sync import deactivation
from schema.base import utcnow
from schema.models import Alert, Patient, Visit
from sync.change import Change
from tests.support.sync import Edge, Net, table_rows
from tests.sync.test_protocol import register, visit


def alerts(engine: Engine) -> list[Alert]:
    with new_session(engine) as session:
        query = select(Alert).where(Alert.kind == deactivation.KIND).order_by(Alert.created_at)
        return list(session.scalars(query))


def shared_patient(net: Net) -> tuple[Edge, Edge, str]:
    """A patient registered on vehicle B and booked on vehicle A too: both hold them."""
    a, b = net.edge("A"), net.edge("B")
    [patient_id] = register(b)
    b.sync()
    with new_session(net.hub_engine) as session, session.begin():
        visit(session, session.get_one(Patient, patient_id), a.vehicle_id)
    a.sync()
    return a, b, patient_id


def seen_on(edge: Edge, patient_id: str) -> str:
    """A visit the vehicle makes for the patient, offline, as it still sees them (seen
    through to closure: the patient's open visit of the day is another)."""
    with new_session(edge.engine) as session, session.begin():
        seen = Visit(
            patient_id=patient_id,
            vehicle_id=edge.vehicle_id,
            visit_date=utcnow().date(),
            stage="closure",
            status="closed",
            opened_by="someone",
            opened_at=utcnow(),
        )
        session.add(seen)
    return seen.id


def test_a_visit_for_a_patient_another_vehicle_deactivated_alerts_its_vehicle_once(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a, b, patient_id = shared_patient(net)
    with new_session(b.engine) as session, session.begin():
        session.get_one(Patient, patient_id).status = "deactivated"
    b.sync()
    seen = seen_on(a, patient_id)

    a.sync()

    [alert] = alerts(net.hub_engine)
    assert (alert.vehicle_id, alert.resource_type, alert.resource_id) == (
        a.vehicle_id,
        "visit",
        seen,
    )
    assert (alert.priority, alert.dedupe_key) == ("high", f"patient_deactivated:{seen}")
    assert seen in (alert.detail or "") and "on vehicle Clinic B" in (alert.detail or "")
    assert [row["id"] for row in table_rows(net.hub_engine, "visit") if row["id"] == seen]
    with new_session(a.engine) as session, session.begin():  # the visit goes on
        session.get_one(Visit, seen).summary = "Seen anyway"
    a.sync()
    b.sync()
    assert len(alerts(net.hub_engine)) == 1  # once per visit; none for B's own visits
    on_a = [row for row in table_rows(a.engine, "alert") if row["resource_id"] == seen]
    assert [row["kind"] for row in on_a] == ["patient_deactivated"]


def test_head_office_deactivating_a_patient_is_named_as_such(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a = net.edge("A")
    [patient_id] = register(a)
    a.sync()
    with new_session(net.hub_engine) as session, session.begin():
        session.get_one(Patient, patient_id).status = "deactivated"
    seen = seen_on(a, patient_id)

    a.sync()

    [alert] = alerts(net.hub_engine)
    assert alert.resource_id == seen and "at head office" in (alert.detail or "")


def test_a_vehicles_own_deactivation_and_active_patients_raise_nothing(
    sync_net: Callable[[], Net],
) -> None:
    net = sync_net()
    a = net.edge("A")
    [active, own] = register(a, 2)  # each with a visit
    with new_session(a.engine) as session, session.begin():
        session.get_one(Patient, own).status = "deactivated"
    seen_on(a, own)
    seen_on(a, active)
    a.sync()
    assert alerts(net.hub_engine) == []


def test_a_batch_of_visits_is_looked_at_in_one_query(hub_engine: Engine) -> None:
    changes = [Change("visit", f"v{n:04d}", "i", f"{n:016x}@d001") for n in range(300)]
    changes += [Change("patient", "p1", "u", f"{1:016x}@d001")]
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    with hub_engine.begin() as connection:
        event.listen(connection, "before_cursor_execute", seen)
        deactivation.notice(connection, changes)
        event.remove(connection, "before_cursor_execute", seen)
    assert len(statements) == 1 and "patient.status" in statements[0]
