"""How long a CSV import of 10,000 patients (with some bad rows) takes on a real SQLCipher
edge database, through the API. Prints the figures; run `python -m bench.patient_import`."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import secrets
import tempfile
import time
from pathlib import Path

from stdnum import luhn

from bench import AUDIT_KEY, seal_with_bench_key
from common.auth import tokens
from common.database import new_session, sqlcipher_engine
from common.node import bind_vehicle, ensure_node
from common.users import create_user
from edge import create_app
from schema import migrate
from schema.models import Vehicle

HEADER = "first_name,last_name,id_number,phone,medical_aid_number,dependant_code,allergies\n"


def sa_id(number: int) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=number % 20000)
    body = f"{born:%y%m%d}{number % 10000:04d}08"
    return body + luhn.calc_check_digit(body)


def csv_file(rows: int, bad_every: int) -> bytes:
    lines = [HEADER]
    for n in range(rows):
        id_number = "8001015009088" if n % bad_every == bad_every - 1 else sa_id(n)
        lines.append(f"Name{n},Surname{n},{id_number},0821234567,M{n:08d},00,Penicillin\n")
    return "".join(lines).encode()


def main() -> None:
    seal_with_bench_key()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--bad-every", type=int, default=250)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, key = Path(tmp) / "edge.db", secrets.token_bytes(32)
        engine = sqlcipher_engine(path, key)
        migrate.upgrade(engine)
        with new_session(engine) as session, session.begin():
            ensure_node(session, "dbench0000001", "edge")
            vehicle = Vehicle(name="Bench", registration_plate="BENCH1", practice_number="0123456")
            session.add(vehicle)
            session.flush()
            bind_vehicle(session, vehicle)
            clerk = create_user(
                session,
                username="bench-clerk",
                full_name="Bench",
                role="clerk",
                password=secrets.token_urlsafe(16),
                vehicle_ids=[vehicle.id],
            )
        app = create_app(
            {
                "DATABASE_PATH": str(path),
                "DB_KEY": key.hex(),
                "SECRET_KEY": "b" * 40,
                "AUDIT_KEY": AUDIT_KEY.text(),
            }
        )
        with app.app_context():
            issued = tokens.issue(app.config["SECRET_KEY"], clerk)
            headers = {"Authorization": f"Bearer {issued['access_token']}"}
        content = csv_file(args.rows, args.bad_every)
        client = app.test_client()
        for query in ("", "?import_valid=true"):
            started = time.perf_counter()
            response = client.post(
                "/api/patients/import-csv" + query,
                data={"file": (io.BytesIO(content), "patients.csv")},
                headers=headers,
            )
            seconds = time.perf_counter() - started
            body = response.get_json()
            report = body.get("details") or body.get("data")
            print(
                f"import{query or ' (all or nothing)'}: HTTP {response.status_code}, "
                f"{report['total']} rows, {report['invalid']} bad (first on line "
                f"{report['errors'][0]['line']}), {report['imported']} imported, {seconds:.2f} s"
            )


if __name__ == "__main__":
    main()
