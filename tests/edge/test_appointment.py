"""Booking on the edge: atomic, never double-booked, never over capacity, even at once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, func, select

from bench.meter import serving
from common.database import new_session
from schema.models import Appointment, AppointmentSlot, AuditRecord, Route, RouteStop
from tests.support.operations import day_plan, make_location, make_patient, plan_route
from tests.support.tables import row_counts


@pytest.fixture
def slots(edge_client: Any, edge_user: Any, edge_engine: Engine, edge_vehicle: str) -> list[str]:
    """Tomorrow's two slots at one stop, two places each."""
    admin = edge_user("administrator")
    plan = day_plan(make_location(edge_engine), capacity=2, slots=2)
    route_id = plan_route(edge_engine, edge_vehicle, plan)
    route = edge_client.get(f"/api/routes/{route_id}", headers=admin.headers).get_json()["data"]
    return [slot["id"] for slot in route["stops"][0]["slots"]]


def book(client: Any, staff: Any, slot_id: str, patient_id: str) -> Any:
    body = {"slot_id": slot_id, "patient_id": patient_id, "reason": "chronic review"}
    return client.post("/api/appointments", json=body, headers=staff.headers)


def test_booking_fills_a_slot_and_then_refuses(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk = edge_user("clerk")
    first, second, third = (make_patient(edge_engine) for _ in range(3))
    booked = book(edge_client, clerk, slots[0], first)
    assert booked.status_code == 201
    data = booked.get_json()["data"]
    assert data["status"] == "booked" and data["patient"]["name"] == "Thandi Mokoena"
    again = book(edge_client, clerk, slots[0], first)
    assert again.status_code == 409 and "already booked" in again.get_json()["error"]
    assert book(edge_client, clerk, slots[0], second).status_code == 201
    full = book(edge_client, clerk, slots[0], third)
    assert full.status_code == 409 and full.get_json()["error"] == "This slot is full"
    day = dt.date.fromisoformat(data["route_date"])
    free = edge_client.get(
        f"/api/appointments/availability?date={day}", headers=clerk.headers
    ).get_json()["data"]
    assert [(s["booked"], s["available"]) for s in free] == [(2, 0), (0, 2)]
    opened = edge_client.get(
        f"/api/appointments/availability?date={day}&open_only=true", headers=clerk.headers
    ).get_json()["data"]
    assert [s["id"] for s in opened] == [slots[1]]


def test_a_patient_is_found_by_id_number(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk = edge_user("clerk")
    patient = make_patient(edge_engine, id_number="8001015009087")
    body = {"slot_id": slots[0], "patient_id_number": "8001015009087"}
    response = edge_client.post("/api/appointments", json=body, headers=clerk.headers)
    assert response.status_code == 201
    assert response.get_json()["data"]["patient"]["id"] == patient


def test_concurrent_bookings_never_exceed_capacity(
    edge_app: Flask, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    """Twelve clerks' tablets book the same two-place slot at the same moment, over HTTP
    against the real SQLCipher file: exactly two win, the rest get 409, none a 5xx."""
    clerks = [edge_user("clerk") for _ in range(3)]
    patients = [make_patient(edge_engine) for _ in range(12)]
    statuses: list[int] = []
    start = threading.Barrier(len(patients))

    def attempt(number: int, base: str) -> None:
        body = {"slot_id": slots[0], "patient_id": patients[number]}
        headers = clerks[number % len(clerks)].headers
        start.wait()
        response = requests.post(f"{base}/api/appointments", json=body, headers=headers, timeout=60)
        statuses.append(response.status_code)

    with serving(edge_app) as base:
        threads = [threading.Thread(target=attempt, args=(n, base)) for n in range(len(patients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [201, 201] + [409] * 10
    with edge_engine.connect() as connection:
        held = connection.scalar(select(func.count()).where(Appointment.slot_id == slots[0]))
    assert held == 2


def test_the_same_patient_booked_twice_at_once_gets_one_booking(
    edge_app: Flask, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk = edge_user("clerk")
    patient = make_patient(edge_engine)
    statuses: list[int] = []
    start = threading.Barrier(6)

    def attempt(base: str) -> None:
        start.wait()
        body = {"slot_id": slots[1], "patient_id": patient}
        response = requests.post(
            f"{base}/api/appointments", json=body, headers=clerk.headers, timeout=60
        )
        statuses.append(response.status_code)

    with serving(edge_app) as base:
        threads = [threading.Thread(target=attempt, args=(base,)) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(statuses) == [201] + [409] * 5
    with edge_engine.connect() as connection:  # and the database holds exactly one
        stored = connection.execute(
            select(Appointment.slot_id, Appointment.status).where(Appointment.patient_id == patient)
        ).all()
    assert [tuple(row) for row in stored] == [(slots[1], "booked")]


def test_cancel_frees_the_place_and_reschedule_moves_it(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk = edge_user("clerk")
    first, second, third = (make_patient(edge_engine) for _ in range(3))
    a = book(edge_client, clerk, slots[0], first).get_json()["data"]
    book(edge_client, clerk, slots[0], second)
    cancelled = edge_client.post(
        f"/api/appointments/{a['id']}/status",
        json={"status": "cancelled", "reason": "patient travelling"},
        headers=clerk.headers,
    )
    assert cancelled.status_code == 200 and cancelled.get_json()["data"]["status"] == "cancelled"
    assert book(edge_client, clerk, slots[0], third).status_code == 201  # the place came back
    again = edge_client.post(
        f"/api/appointments/{a['id']}/status", json={"status": "no_show"}, headers=clerk.headers
    )
    assert again.status_code == 409

    b = book(edge_client, clerk, slots[1], first).get_json()["data"]
    moved = edge_client.post(
        f"/api/appointments/{b['id']}/reschedule", json={"slot_id": slots[0]}, headers=clerk.headers
    )
    assert moved.status_code == 409  # slot 0 is full: nothing moves
    assert (
        edge_client.post(
            f"/api/appointments/{b['id']}/status", json={"status": "no_show"}, headers=clerk.headers
        ).get_json()["data"]["status"]
        == "no_show"
    )

    third_booking = edge_client.get(
        f"/api/appointments?slot_id={slots[0]}&patient_id={third}", headers=clerk.headers
    ).get_json()["data"][0]
    edge_client.post(
        f"/api/appointments/{third_booking['id']}/status",
        json={"status": "cancelled"},
        headers=clerk.headers,
    )
    fourth = make_patient(edge_engine)
    c = book(edge_client, clerk, slots[1], fourth).get_json()["data"]
    moved = edge_client.post(
        f"/api/appointments/{c['id']}/reschedule", json={"slot_id": slots[0]}, headers=clerk.headers
    )
    assert moved.status_code == 201
    assert moved.get_json()["data"]["slot_id"] == slots[0]
    history = edge_client.get(
        f"/api/appointments?patient_id={fourth}", headers=clerk.headers
    ).get_json()["data"]
    assert {(a["slot_id"], a["status"]) for a in history} == {
        (slots[1], "rescheduled"),
        (slots[0], "booked"),
    }


def test_listing_appointments_is_audited_with_the_patients(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk, nurse = edge_user("clerk"), edge_user("nurse")
    patient = make_patient(edge_engine)
    book(edge_client, clerk, slots[0], patient)
    listed = edge_client.get("/api/appointments", headers=nurse.headers).get_json()
    assert [a["patient"]["id"] for a in listed["data"]] == [patient]
    with edge_engine.connect() as connection:
        record = connection.execute(
            select(AuditRecord).where(AuditRecord.action == "list", AuditRecord.user_id == nurse.id)
        ).one()
        booked = connection.execute(
            select(AuditRecord).where(AuditRecord.action == "appointment_booked")
        ).one()
    assert record.detail["patient_ids"] == [patient]
    assert booked.patient_id == patient


def test_a_slot_that_is_over_cannot_be_booked(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk = edge_user("clerk")
    with new_session(edge_engine) as session, session.begin():
        slot = session.get_one(AppointmentSlot, slots[0])
        slot.starts_at -= dt.timedelta(days=3)
        slot.ends_at -= dt.timedelta(days=3)
    response = book(edge_client, clerk, slots[0], make_patient(edge_engine))
    assert response.status_code == 409


def test_a_slot_of_a_route_cancelled_at_head_office_cannot_be_booked(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    clerk = edge_user("clerk")
    patient = make_patient(edge_engine)
    with new_session(edge_engine) as session, session.begin():  # as the sync brings it
        slot = session.get_one(AppointmentSlot, slots[0])
        stop = session.get_one(RouteStop, slot.route_stop_id)
        session.get_one(Route, stop.route_id).status = "cancelled"
    before = row_counts(edge_engine)
    response = book(edge_client, clerk, slots[0], patient)
    assert response.status_code == 409
    assert response.get_json()["error"] == "This route was cancelled at head office"
    assert row_counts(edge_engine) == before


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"slot_id": "x"},
        {"slot_id": "SLOT", "patient_id": "p", "patient_id_number": "8001015009087"},
        {"slot_id": "SLOT", "patient_id_number": "12"},
        {"slot_id": "SLOT", "patient_id": "nobody"},
        {"slot_id": "missing", "patient_id": "PATIENT"},
    ],
)
def test_bad_bookings_are_refused_and_change_nothing(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str], body: dict[str, Any]
) -> None:
    clerk = edge_user("clerk")
    patient = make_patient(edge_engine)
    body = {k: {"SLOT": slots[0], "PATIENT": patient}.get(v, v) for k, v in body.items()}
    before = row_counts(edge_engine)
    response = edge_client.post("/api/appointments", json=body, headers=clerk.headers)
    assert response.status_code in (400, 404)
    assert response.get_json()["success"] is False
    assert row_counts(edge_engine) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/status", {"status": "booked"}),
        ("/status", {"status": "cancelled", "reason": "x" * 501}),
        ("/reschedule", {}),
        ("/reschedule", {"slot_id": "missing"}),
    ],
)
def test_bad_status_changes_are_refused(
    edge_client: Any,
    edge_user: Any,
    edge_engine: Engine,
    slots: list[str],
    path: str,
    body: dict[str, Any],
) -> None:
    clerk = edge_user("clerk")
    booking = book(edge_client, clerk, slots[0], make_patient(edge_engine)).get_json()["data"]
    before = row_counts(edge_engine)
    response = edge_client.post(
        f"/api/appointments/{booking['id']}{path}", json=body, headers=clerk.headers
    )
    assert response.status_code in (400, 404)
    assert row_counts(edge_engine) == before


def test_roles_without_booking_rights_are_refused(
    edge_client: Any, edge_user: Any, edge_engine: Engine, slots: list[str]
) -> None:
    patient = make_patient(edge_engine)
    for role in ("nurse", "inventory_manager", "viewer"):
        assert book(edge_client, edge_user(role), slots[0], patient).status_code == 403
    assert (
        edge_client.get("/api/appointments", headers=edge_user("finance").headers).status_code
        == 403
    )
