"""Every overwritten value is kept (invariant 21), through real processes: a
`clinic-hub serve` process and two SQLCipher edges enrolled over HTTP.

Edge A sets a patient's language; edge B, its laptop clock two hours slow, sets another
a few seconds later in real time. The merge by version keeps A's everywhere (B's clock
says it came first), and B's value, once lost without trace, is in head office's
conflict log, from where a reviewer puts it back; that syncs to both laptops. An edit
made after seeing the other value is no conflict."""

from __future__ import annotations

from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import Engine, text

from common.database import new_session
from edge.sync import service as edge_sync
from schema.models import Patient
from sync.clock import wall_millis
from sync.stamp import clock_for
from tests.support import rows
from tests.support.hubprocess import HubProcess, edge_for, head_office
from tests.support.identity import make_staff
from tests.sync.test_protocol import visit

TWO_HOURS_MS = 2 * 3600 * 1000


def language(engine: Engine, patient_id: str) -> str:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT language FROM patient WHERE id = :i"), {"i": patient_id}
        )
        return str(found.scalar())


def set_language(engine: Engine, patient_id: str, value: str) -> None:
    with new_session(engine) as session, session.begin():
        session.get_one(Patient, patient_id).language = value


def test_the_losing_value_of_a_same_field_edit_is_kept_and_can_be_put_back(
    hub_process: HubProcess,
    hub_app: Flask,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    hub = (hub_process, hub_engine, edge_template, edge_key, tmp_path)
    a, config_a, vehicle_a = edge_for("a", *hub)
    b, config_b, vehicle_b = edge_for("b", *hub)
    clock_for(b).use_wall(lambda: wall_millis() - TWO_HOURS_MS)  # B's laptop clock
    with new_session(a) as session, session.begin():
        patient_id = rows.patient(session, first_name="Zanele", registered_vehicle_id=vehicle_a).id
    edge_sync.run(a, config_a)
    with new_session(hub_engine) as session, session.begin():  # booked on B's route too
        visit(session, session.get_one(Patient, patient_id), vehicle_b)
    edge_sync.run(b, config_b)

    set_language(a, patient_id, "isiZulu")
    edge_sync.run(a, config_a)
    set_language(b, patient_id, "Sesotho")  # later in real time, earlier by B's clock
    edge_sync.run(b, config_b)
    edge_sync.run(a, config_a)
    assert {language(e, patient_id) for e in (a, b, hub_engine)} == {"isiZulu"}

    make_staff(hub_app, hub_engine, "administrator", username="head.admin")
    headers = head_office(hub_process)
    listed = requests.get(f"{hub_process.base}/api/sync/conflicts", headers=headers, timeout=10)
    [conflict] = listed.json()["data"]
    assert conflict["resolution"] == "lww" and conflict["column_name"] == "language"
    assert '"Sesotho"' in (conflict["local_value"], conflict["remote_value"])
    assert conflict["merged_value"] == '"isiZulu"'
    device_b = edge_sync.enrollment(Path(config_b["SECRETS_DIR"])).device_id
    assert conflict["remote_version"].endswith("@" + device_b)

    use = requests.post(
        f"{hub_process.base}/api/sync/conflicts/{conflict['id']}/resolve",
        json={"use": "discarded"},
        headers=headers,
        timeout=10,
    )
    assert use.status_code == 200, use.json()
    edge_sync.run(a, config_a)
    edge_sync.run(b, config_b)
    assert {language(e, patient_id) for e in (a, b, hub_engine)} == {"Sesotho"}

    # A, having seen Sesotho, changes it: an ordinary edit, no conflict
    set_language(a, patient_id, "English")
    edge_sync.run(a, config_a)
    open_conflicts = requests.get(
        f"{hub_process.base}/api/sync/conflicts", headers=headers, timeout=10
    ).json()["data"]
    assert open_conflicts == []
    assert language(hub_engine, patient_id) == "English"
