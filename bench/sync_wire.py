"""What a day of a clinic's work costs on the wire when it syncs to the hub, beside the
naive way (one uncompressed JSON request per row), the compression floor (the same rows as
one gzip'd JSON batch) and a real peer (PouchDB replicating them to express-pouchdb, after
`npm ci --prefix bench/peer`), all counted by the same loopback proxy in the same run.

Run `python -m bench.sync_wire` (150 visits; `--visits N` for another size). The hub runs
on a private MySQL database created on HUB_BENCH_DATABASE_URL and dropped afterwards; the
edge is a real SQLCipher file; the sync goes over real HTTP.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import logging
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

import schema
from bench.meter import Count, Meter, metering
from common import audit
from common.database import new_session, plain_engine, sqlcipher_engine
from common.node import HUB_NODE_ID, ensure_node
from edge.sync import service as edge_sync
from edge.visit import workflow
from hub import create_app
from hub.sync import device as devices
from hub.sync.exchange import ensure_receipt_key
from schema import migrate
from schema.base import new_id, utcnow
from schema.models import (
    Claim,
    ClaimLine,
    ClinicalNote,
    Diagnosis,
    Item,
    Lot,
    Patient,
    Prescription,
    StockMovement,
    Vehicle,
    Visit,
    VisitTransition,
    VitalSign,
)
from sync import codec

ENV = "HUB_BENCH_DATABASE_URL"
DEFAULT_SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
PEER = Path(__file__).parent / "peer"
EDGE_NODE = "dbench0000001"
DAY_TABLES = (
    "patient",
    "visit",
    "visit_transition",
    "vital_sign",
    "clinical_note",
    "diagnosis",
    "prescription",
    "stock_movement",
    "claim",
    "claim_line",
    "audit_record",
)
MEDICINES = (
    ("716334001", "Amoxicillin 500 mg capsules", "capsule", Decimal("4.20")),
    ("705123002", "Paracetamol 500 mg tablets", "tablet", Decimal("0.55")),
    ("712345003", "Metformin 500 mg tablets", "tablet", Decimal("0.90")),
    ("708765004", "Amlodipine 5 mg tablets", "tablet", Decimal("1.10")),
    ("701234005", "Hydrochlorothiazide 12.5 mg tablets", "tablet", Decimal("0.40")),
    ("709876006", "Ibuprofen 400 mg tablets", "tablet", Decimal("0.75")),
    ("703456007", "Salbutamol 100 mcg inhaler", "inhaler", Decimal("48.00")),
    ("704567008", "Oral rehydration salts sachet", "sachet", Decimal("3.10")),
)
DIAGNOSES = (
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("J06.9", "Acute upper respiratory infection, unspecified"),
    ("J45.9", "Asthma, unspecified"),
    ("A09", "Infectious gastroenteritis and colitis, unspecified"),
    ("M54.5", "Low back pain"),
    ("N39.0", "Urinary tract infection, site not specified"),
)
FIRST = ("Thandi", "Sipho", "Lerato", "Johannes", "Nomvula", "Pieter", "Ayanda", "Fatima")
LAST = ("Mokoena", "Dlamini", "Naidoo", "van der Merwe", "Khumalo", "Botha", "Nkosi", "Pillay")
Stocked = tuple[str, str, str, Decimal]  # item id, NAPPI code, lot id, unit price
USER_AGENT = "Mozilla/5.0 (Linux; Android 13; SM-T505) AppleWebKit/537.36 Chrome/120.0 Safari"


@dataclass(frozen=True)
class Crew:
    vehicle_id: str
    clerk: audit.Who
    nurse: audit.Who
    doctor: audit.Who
    counselor: audit.Who


@dataclass(frozen=True)
class Figures:
    visits: int
    rows: int
    changes: int
    sync: Count
    sync_seconds: float
    idle: Count
    naive: Count
    floor: Count
    hub_visits: int
    peer: tuple[Count, Count] | str  # the day and an idle replication, or why not run


# -- the hub, the edge and the sink ------------------------------------------------------


@contextmanager
def hub_database(server_url: str) -> Iterator[str]:
    """A private, migrated hub database on the server, dropped afterwards."""
    base = make_url(server_url)
    name = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        engine = plain_engine(url)
        migrate.upgrade(engine)
        with new_session(engine) as session, session.begin():
            ensure_node(session, HUB_NODE_ID, "hub")
        engine.dispose()
        yield url
    finally:
        try:
            with admin.begin() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        except OperationalError as error:  # e.g. MariaDB's stray trigger file: keep the figures
            print(f"warning: could not drop the database {name}: {error.orig}", file=sys.stderr)
        admin.dispose()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """The base URL of a WSGI app served on loopback in a thread, without request logs."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class _Sink(BaseHTTPRequestHandler):
    """Takes any POST and answers as a minimal JSON API would."""

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"ok":true}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Quiet: a benchmark prints only its table."""


@contextmanager
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def stock_the_vehicle(hub: Engine) -> tuple[str, list[tuple[Item, Lot]]]:
    """The vehicle and its formulary with one lot each, made at head office."""
    with new_session(hub) as session, session.begin():
        vehicle = Vehicle(
            name="Clinic Bench", registration_plate="BENCH1GP", practice_number="0123456"
        )
        session.add(vehicle)
        session.flush()
        stock = []
        for nappi, name, unit, price in MEDICINES:
            item = Item(nappi_code=nappi, name=name, kind="medicine", unit=unit, tariff_price=price)
            session.add(item)
            session.flush()
            lot = Lot(
                item_id=item.id,
                vehicle_id=vehicle.id,
                batch_number=f"B{nappi[-4:]}",
                expiry_date=dt.date(2028, 6, 30),
                created_at=utcnow(),
            )
            session.add(lot)
            stock.append((item, lot))
    return vehicle.id, stock


def new_edge(path: Path, key: bytes) -> Engine:
    engine = sqlcipher_engine(path, key)
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        ensure_node(session, EDGE_NODE, "edge")
    return engine


# -- a day of work -----------------------------------------------------------------------


def crew(vehicle_id: str) -> Crew:
    def who(username: str, role: str) -> audit.Who:
        return audit.Who(new_id(), username, role, "10.20.0.14", USER_AGENT, vehicle_id)

    return Crew(
        vehicle_id,
        who("clerk.ndlovu", "clerk"),
        who("nurse.mahlangu", "nurse"),
        who("dr.pillay", "doctor"),
        who("counselor.zulu", "counselor"),
    )


def advance(session: Any, visit: Visit, to: str, by: audit.Who) -> None:
    """Move the visit to its next stage, as the workflow records it."""
    session.add(
        VisitTransition(
            visit_id=visit.id,
            vehicle_id=visit.vehicle_id,
            from_stage=visit.stage,
            to_stage=to,
            kind="advance",
            actor_id=by.user_id,
            actor_role=by.role,
            at=utcnow(),
        )
    )
    visit.stage = to
    audit.record(session, by, "visit.advance", resource_type="visit", resource_id=visit.id)


def one_visit(engine: Engine, team: Crew, stock: list[Stocked], rng: Any) -> None:
    """A complete five-stage visit, each stage its own transaction as the crew works."""
    now = utcnow()
    with new_session(engine) as session, session.begin():
        patient = Patient(
            first_name=rng.choice(FIRST),
            last_name=rng.choice(LAST),
            date_of_birth=dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(30000)),
            sex=rng.choice("FM"),
            id_number=f"{rng.randrange(10**12, 10**13)}",
            phone=f"+2782{rng.randrange(10**6, 10**7)}",
            address=f"{rng.randrange(1, 999)} Main Road, Ward {rng.randrange(1, 40)}",
            language=rng.choice(("isiZulu", "Sesotho", "English", "Afrikaans")),
            medical_aid_number=f"M{rng.randrange(10**8, 10**9)}",
            dependant_code="00",
            allergies=rng.choice(([], [], ["Penicillin"], ["Sulfonamides"])),
            chronic_conditions=rng.choice(([], ["Hypertension"], ["Type 2 diabetes"])),
            registered_vehicle_id=team.vehicle_id,
            created_at=now,
            updated_at=now,
        )
        session.add(patient)
        session.flush()
        visit = Visit(
            patient_id=patient.id,
            vehicle_id=team.vehicle_id,
            visit_date=now.date(),
            open_day=now.date(),
            stage=workflow.REGISTRATION,
            status=workflow.OPEN,
            eligibility_status="eligible",
            eligibility_verified_at=now,
            opened_by=team.clerk.user_id or "",
            opened_at=now,
        )
        session.add(visit)
        session.flush()
        audit.record(
            session,
            team.clerk,
            "patient.create",
            resource_type="patient",
            resource_id=patient.id,
            patient_id=patient.id,
        )
        audit.record(
            session,
            team.clerk,
            "visit.open",
            resource_type="visit",
            resource_id=visit.id,
            patient_id=patient.id,
        )
        advance(session, visit, workflow.NURSING, team.clerk)
    records = {"visit_id": visit.id, "patient_id": patient.id, "vehicle_id": team.vehicle_id}
    with new_session(engine) as session, session.begin():
        session.add(visit)
        session.add(
            VitalSign(
                **records,
                recorded_by=team.nurse.user_id or "",
                recorded_at=utcnow(),
                systolic=rng.randrange(100, 170),
                diastolic=rng.randrange(60, 105),
                pulse=rng.randrange(55, 110),
                temperature=Decimal(f"{rng.uniform(36.0, 38.5):.1f}"),
                respiratory_rate=rng.randrange(12, 22),
                spo2=rng.randrange(93, 100),
                weight_kg=Decimal(f"{rng.uniform(45, 110):.1f}"),
                height_cm=Decimal(f"{rng.uniform(150, 190):.1f}"),
                bmi=Decimal(f"{rng.uniform(18, 35):.1f}"),
                glucose=Decimal(f"{rng.uniform(4, 11):.1f}"),
                flags={},
            )
        )
        session.add(
            ClinicalNote(
                **records,
                stage=workflow.NURSING,
                kind="nursing",
                body="Presents with complaint for 3 days. Vitals taken, no danger signs. "
                "Referred to doctor for assessment.",
                author_id=team.nurse.user_id or "",
                created_at=utcnow(),
            )
        )
        audit.record(
            session,
            team.nurse,
            "vitals.record",
            resource_type="visit",
            resource_id=visit.id,
            patient_id=patient.id,
        )
        advance(session, visit, workflow.CONSULTATION, team.nurse)
    prescribed: list[tuple[Prescription, str, Decimal]] = []
    codes = rng.sample(DIAGNOSES, rng.choice((1, 1, 2)))
    with new_session(engine) as session, session.begin():
        session.add(visit)
        for n, (code, description) in enumerate(codes):
            session.add(
                Diagnosis(
                    **records,
                    icd10_code=code,
                    description=description,
                    is_primary=n == 0,
                    recorded_by=team.doctor.user_id or "",
                    recorded_at=utcnow(),
                )
            )
        session.add(
            ClinicalNote(
                **records,
                stage=workflow.CONSULTATION,
                kind="consultation",
                body="History and examination consistent with the diagnosis. Plan: medication "
                "as prescribed, lifestyle advice, review in four weeks or sooner if worse.",
                author_id=team.doctor.user_id or "",
                created_at=utcnow(),
            )
        )
        for item_id, nappi, lot_id, price in rng.sample(stock, rng.choice((1, 2, 2, 3))):
            quantity = rng.choice((10, 14, 20, 28, 30))
            row = Prescription(
                **records,
                item_id=item_id,
                nappi_code=nappi,
                dose="1 tablet",
                frequency="twice daily",
                duration_days=quantity // 2,
                quantity=quantity,
                instructions="Take with food.",
                prescribed_by=team.doctor.user_id or "",
                prescribed_at=utcnow(),
                warnings=[],
            )
            session.add(row)
            prescribed.append((row, lot_id, price))
        audit.record(
            session,
            team.doctor,
            "consultation.record",
            resource_type="visit",
            resource_id=visit.id,
            patient_id=patient.id,
        )
        advance(session, visit, workflow.COUNSELING, team.doctor)
    with new_session(engine) as session, session.begin():
        session.add(visit)
        for row, lot_id, _ in prescribed:
            session.add(row)
            row.status, row.dispensed_at = "dispensed", utcnow()
            row.dispensed_by = team.nurse.user_id
            session.add(
                StockMovement(
                    vehicle_id=team.vehicle_id,
                    item_id=row.item_id,
                    lot_id=lot_id,
                    kind="dispense",
                    quantity=-row.quantity,
                    reference_type="prescription",
                    reference_id=row.id,
                    actor_id=team.nurse.user_id or "",
                    occurred_at=utcnow(),
                )
            )
            audit.record(
                session,
                team.nurse,
                "prescription.dispense",
                resource_type="prescription",
                resource_id=row.id,
                patient_id=patient.id,
            )
        session.add(
            ClinicalNote(
                **records,
                stage=workflow.COUNSELING,
                kind="counseling",
                body="Explained the medication, adherence and danger signs; patient understood.",
                author_id=team.counselor.user_id or "",
                created_at=utcnow(),
            )
        )
        advance(session, visit, workflow.CLOSURE, team.counselor)
    with new_session(engine) as session, session.begin():
        session.add(visit)
        consult = Decimal("520.00")
        lines = [("procedure", "0190", "Consultation, general practitioner", 1, consult)]
        for row, _, price in prescribed:
            lines.append(("medicine", row.nappi_code, "Dispensed medicine", row.quantity, price))
        claim = Claim(
            visit_id=visit.id,
            patient_id=patient.id,
            vehicle_id=team.vehicle_id,
            member_number=patient.medical_aid_number,
            dependant_code=patient.dependant_code,
            practice_number="0123456",
            service_date=visit.visit_date,
            icd10_codes=[code for code, _ in codes],
            total_amount=sum((quantity * price for *_, quantity, price in lines), Decimal(0)),
            status="ready",
            problems=[],
            rejection_codes=[],
            created_by=team.clerk.user_id or "",
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        session.add(claim)
        session.flush()
        for kind, code, description, quantity, price in lines:
            session.add(
                ClaimLine(
                    claim_id=claim.id,
                    vehicle_id=team.vehicle_id,
                    kind=kind,
                    code=code,
                    description=description,
                    quantity=quantity,
                    unit_price=price,
                    amount=quantity * price,
                )
            )
        visit.status, visit.closed_by, visit.closed_at = "closed", team.clerk.user_id, utcnow()
        audit.record(
            session,
            team.clerk,
            "visit.close",
            resource_type="visit",
            resource_id=visit.id,
            patient_id=patient.id,
        )


def day_rows(engine: Engine, before: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The rows the day's work left (in the sync's wire encoding), each tagged with its
    table: what the baselines send."""
    found = []
    with engine.connect() as connection:
        for name in DAY_TABLES:
            table = schema.metadata.tables[name]
            for row in connection.execute(select(table).order_by(table.c.id)).mappings():
                if row["id"] not in before[name]:
                    values = {key: codec.encode(table.c[key], value) for key, value in row.items()}
                    found.append({"table": name, "row": values})
    return found


def ids(engine: Engine) -> dict[str, set[str]]:
    with engine.connect() as connection:
        return {
            name: set(connection.execute(text(f"SELECT id FROM {name}")).scalars())
            for name in DAY_TABLES
        }


# -- the contenders ----------------------------------------------------------------------


def naive(meter: Meter, found: list[dict[str, Any]]) -> Count:
    """One uncompressed JSON POST per row, as a simple REST client would send them."""
    meter.reset()
    with requests.Session() as http:
        for entry in found:
            body = json.dumps(entry["row"]).encode()
            response = http.post(
                f"{meter.url}/api/{entry['table']}",
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=30,
            )
            response.raise_for_status()
    return meter.reset()


def floor(meter: Meter, found: list[dict[str, Any]]) -> Count:
    """Every row in one gzip'd JSON batch: what compression alone can reach."""
    meter.reset()
    body = gzip.compress(json.dumps(found, separators=(",", ":")).encode(), compresslevel=9)
    response = requests.post(
        f"{meter.url}/api/batch",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        timeout=30,
    )
    response.raise_for_status()
    return meter.reset()


def pouchdb(found: list[dict[str, Any]], tmp: Path) -> tuple[Count, Count] | str:
    """The same rows as documents replicated by PouchDB to express-pouchdb over the meter,
    then a replication with nothing new; the reason instead when the peer is not installed."""
    if shutil.which("node") is None:
        return "not run: node is not installed"
    if not (PEER / "node_modules" / "pouchdb").is_dir():
        return "not run: `npm ci` in bench/peer has not been run"
    docs = tmp / "docs.json"
    as_docs = [{"_id": f"{entry['table']}:{entry['row']['id']}", **entry["row"]} for entry in found]
    docs.write_text(json.dumps(as_docs))
    with subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        ["node", "peer.js", "serve"], cwd=PEER, stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            base = f"http://127.0.0.1:{int(server.stdout.readline())}"
            requests.put(f"{base}/day", timeout=30).raise_for_status()  # yesterday's database
            with metering(base) as meter:
                return _replicate(meter, docs, len(found))
        finally:
            server.terminate()


def _replicate(meter: Meter, docs: Path, expected: int) -> tuple[Count, Count]:
    """Run the replicator through `meter`: the day, then a replication with nothing new."""
    with subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
        ["node", "peer.js", "replicate", f"{meter.url}/day", str(docs)],
        cwd=PEER,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as replicator:
        assert replicator.stdin is not None and replicator.stdout is not None
        meter.reset()
        written = replicator.stdout.readline().split()
        if written[:1] != ["done"] or int(written[1]) != expected:
            raise RuntimeError(f"PouchDB replication failed: {written}")
        day = meter.reset()
        replicator.stdin.write("again\n")
        replicator.stdin.flush()
        replicator.stdout.readline()
        return day, meter.reset()


def measure(visits: int, server_url: str, seed: int = 20261201) -> Figures:
    """Generate the day on a new edge, sync it to a new hub and run the baselines."""
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory() as tmp,
        hub_database(server_url) as hub_url,
        sink() as sink_url,
        metering(sink_url) as sink_meter,
    ):
        key_file = Path(tmp) / "hub" / "sync-receipt.key"
        ensure_receipt_key(key_file)
        app = create_app(
            {
                "DATABASE_URL": hub_url,
                "DATA_DIR": str(Path(tmp) / "hub"),
                "SECRET_KEY": secrets.token_hex(32),
                "SYNC_KEY_FILE": str(key_file),
            }
        )
        hub = plain_engine(hub_url)
        edge = new_edge(Path(tmp) / "edge.db", secrets.token_bytes(32))
        try:
            vehicle_id, stock = stock_the_vehicle(hub)
            with new_session(hub) as session, session.begin():
                token = devices.issue_token(session, vehicle_id, None).token
            config = {"SECRETS_DIR": str(Path(tmp) / "secrets")}
            with serving(app) as hub_base, metering(hub_base) as meter:
                edge_sync.enroll(edge, Path(config["SECRETS_DIR"]), meter.url, token)
                client = edge_sync.client(edge, config)
                client.run()  # the first pull brings the vehicle and its formulary
                before = ids(edge)
                team = crew(vehicle_id)
                formulary = [
                    (item.id, item.nappi_code or "", lot.id, item.tariff_price or Decimal(0))
                    for item, lot in stock
                ]
                for _ in range(visits):
                    one_visit(edge, team, formulary, rng)
                changes = pending(edge)
                meter.reset()
                started = time.perf_counter()
                client.run()
                seconds = time.perf_counter() - started
                synced = meter.reset()
                client.run()
                idle = meter.reset()
            found = day_rows(edge, before)
            with hub.connect() as connection:
                hub_visits = connection.execute(text("SELECT count(*) FROM visit")).scalar()
            return Figures(
                visits,
                len(found),
                changes,
                synced,
                seconds,
                idle,
                naive(sink_meter, found),
                floor(sink_meter, found),
                int(hub_visits or 0),
                pouchdb(found, Path(tmp)),
            )
        finally:
            edge.dispose()
            hub.dispose()
            with app.app_context():
                from common.database import db

                db.engine.dispose()


def pending(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM sync_change WHERE node = :n AND seq > "
                    "coalesce((SELECT pushed_seq FROM sync_link WHERE peer = 'hub'), 0)"
                ),
                {"n": EDGE_NODE},
            ).scalar()
            or 0
        )


# -- the table ---------------------------------------------------------------------------


def table(figures: Figures) -> str:
    v = figures.visits
    sync_total = figures.sync.total

    def line(name: str, count: Count, ratio: str, per_visit: bool = True) -> str:
        share = f"{count.total / v:,.0f}" if per_visit else "-"
        return (
            f"{name:<44} {count.requests:>9,} {count.sent:>11,} {count.received:>11,} "
            f"{count.total:>12,} {share:>10} {count.largest:>10,}  {ratio}"
        )

    rows = [
        f"Sync wire cost: {v} visits, {figures.rows:,} rows, {figures.changes:,} changes "
        f"in the edge's change log; hub received {figures.hub_visits} visits; "
        f"sync took {figures.sync_seconds:.2f} s",
        f"{'contender':<44} {'requests':>9} {'bytes up':>11} {'bytes down':>11} "
        f"{'bytes total':>12} {'per visit':>10} {'largest rq':>10}  ratio to sync",
        line("sync edge -> hub (zstd batches)", figures.sync, "1.00x"),
        line(
            "(a) naive: uncompressed JSON, 1 request/row",
            figures.naive,
            f"{figures.naive.total / sync_total:.2f}x more bytes, "
            f"{figures.naive.requests / max(figures.sync.requests, 1):,.0f}x the requests",
        ),
        line(
            "(b) floor: all rows as one gzip'd JSON batch",
            figures.floor,
            f"sync is {sync_total / figures.floor.total:.2f}x the floor",
        ),
        line("(c) sync with nothing to send", figures.idle, "(absolute)", per_visit=False),
    ]
    if isinstance(figures.peer, str):
        rows.append(f"{'(d) PouchDB -> express-pouchdb':<44} {figures.peer}")
    else:
        day, idle = figures.peer
        rows += [
            line(
                "(d) PouchDB -> express-pouchdb, same rows",
                day,
                f"{day.total / sync_total:.2f}x more bytes, "
                f"{day.requests / max(figures.sync.requests, 1):.1f}x the requests",
            ),
            line(
                "(d) PouchDB with nothing to send",
                idle,
                f"{idle.total / figures.idle.total:.2f}x the bytes of (c)",
                per_visit=False,
            ),
        ]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=150)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    print(table(measure(args.visits, os.environ.get(ENV, DEFAULT_SERVER), args.seed)))


if __name__ == "__main__":
    main()
