"""Bulk and CSV import: every row checked first, bad rows reported by line, nothing saved
from a file with errors unless the valid rows are asked for."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from common.database import new_session
from schema.models import AuditRecord, Patient
from tests.support.clinic import Clinic, sa_id

HEADER = "first_name,last_name,id_number,phone,medical_aid_number,dependant_code,allergies\n"


def csv_file(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def patients(clinic: Clinic) -> int:
    with new_session(clinic.engine) as session:
        return session.scalar(select(func.count()).select_from(Patient)) or 0


def upload(clinic: Clinic, content: bytes, query: str = "") -> object:
    data = {"file": (io.BytesIO(content), "patients.csv")}
    headers = clinic.staff("clerk").headers
    return clinic.client.post(f"/api/patients/import-csv{query}", data=data, headers=headers)


def test_a_clean_file_imports_every_row(clinic: Clinic) -> None:
    content = csv_file(
        f"Sipho,Dlamini,{sa_id(sex='M')},0821234567,110234561,00,Penicillin;Sulfa",
        f"Nomsa,Dlamini,{sa_id()},,110234561,01,",
    )
    response = upload(clinic, content)
    assert response.status_code == 201
    report = response.get_json()["data"]
    assert (report["total"], report["imported"], report["errors"]) == (2, 2, [])
    with new_session(clinic.engine) as session:
        sipho = session.scalars(select(Patient).where(Patient.first_name == "Sipho")).one()
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "patients_imported")
        ).one()
    assert sipho.allergies == ["Penicillin", "Sulfa"] and sipho.phone == "+27821234567"
    assert audit.detail["imported"] == 2


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(clinic: Clinic) -> None:
    taken = clinic.register()["id_number"]
    repeated = sa_id()
    content = csv_file(
        f"Sipho,Dlamini,{sa_id(sex='M')},,,,",
        "Nomsa,Dlamini,8001015009088,,,,",
        f"Thabo,Nkosi,{taken},,,,",
        ",Mokoena,,,,,",
        f"Lerato,Molefe,{repeated},,,,",
        f"Lerato,Molefe,{repeated},,,,",
        "a,b,c,d,e,f,g,h",
    )
    before = patients(clinic)
    response = upload(clinic, content)
    assert response.status_code == 400
    body = response.get_json()
    assert "5 of 7 rows have errors; nothing was imported" == body["error"]
    lines = {e["line"]: sorted(e["errors"]) for e in body["details"]["errors"]}
    assert lines == {
        3: ["id_number"],
        4: ["id_number"],
        5: ["date_of_birth", "first_name", "sex"],
        7: ["id_number"],
        8: ["_row"],
    }
    assert patients(clinic) == before

    partial = upload(clinic, content, "?import_valid=true")
    assert partial.status_code == 201
    assert partial.get_json()["data"]["imported"] == 2
    assert patients(clinic) == before + 2


def test_a_file_that_is_not_a_patient_csv_is_refused(clinic: Clinic) -> None:
    assert upload(clinic, b"name,age\nx,1\n").status_code == 400
    assert upload(clinic, b"\xff\xfe\x00bad").status_code == 400
    assert upload(clinic, HEADER.encode()).status_code == 400
    plain = clinic.client.post("/api/patients/import-csv", headers=clinic.staff("clerk").headers)
    assert plain.status_code == 400


def test_a_text_csv_body_is_accepted(clinic: Clinic) -> None:
    response = clinic.client.post(
        "/api/patients/import-csv",
        data=csv_file(f"Sipho,Dlamini,{sa_id(sex='M')},,,,"),
        content_type="text/csv",
        headers=clinic.staff("clerk").headers,
    )
    assert response.status_code == 201


def test_bulk_json_rows_are_numbered_from_one(clinic: Clinic) -> None:
    rows = [
        {"first_name": "Sipho", "last_name": "Dlamini", "id_number": sa_id(sex="M")},
        {"first_name": "Nomsa", "last_name": "Dlamini", "phone": "1"},
    ]
    response = clinic.post("clerk", "/api/patients/bulk", {"patients": rows})
    assert response.status_code == 400
    errors = response.get_json()["details"]["errors"]
    assert [e["row"] for e in errors] == [2]
    assert sorted(errors[0]["errors"]) == ["date_of_birth", "phone", "sex"]
    ok = clinic.post("clerk", "/api/patients/bulk", {"patients": rows, "import_valid": True})
    assert ok.status_code == 201 and ok.get_json()["data"]["imported"] == 1
    assert clinic.post("nurse", "/api/patients/bulk", {"patients": []}).status_code == 400
    assert clinic.post("doctor", "/api/patients/bulk", {"patients": ["x"]}).status_code == 400
