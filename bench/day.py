"""A generated, realistic day of a clinic's work and the hub and edges it runs between,
shared by the benchmarks: a private migrated hub database on MySQL, vehicles stocked at
head office, SQLCipher edges enrolled with the hub over HTTP, and 150 (or N) complete
five-stage visits written on an edge through the ORM, each stage its own transaction as
the crew works."""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

import schema
from bench import AUDIT_KEY
from common import audit
from common.database import db, new_session, plain_engine, sqlcipher_engine
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
from sync import codec, wire
from sync.edge import EdgeSync

ENV = "HUB_BENCH_DATABASE_URL"
DEFAULT_SERVER = "mysql+pymysql://root@127.0.0.1:3306/test"
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


def formulary(hub: Engine) -> list[tuple[str, str, Decimal]]:
    """The medicines head office stocks (made once per hub): item id, NAPPI code, price."""
    with new_session(hub) as session, session.begin():
        items = [
            Item(nappi_code=nappi, name=name, kind="medicine", unit=unit, tariff_price=price)
            for nappi, name, unit, price in MEDICINES
        ]
        session.add_all(items)
    return [(item.id, item.nappi_code or "", item.tariff_price or Decimal(0)) for item in items]


def stock_a_vehicle(
    hub: Engine, medicines: list[tuple[str, str, Decimal]], number: int = 1
) -> tuple[str, list[Stocked]]:
    """A vehicle with one lot of each medicine, made at head office."""
    with new_session(hub) as session, session.begin():
        vehicle = Vehicle(
            name=f"Clinic Bench {number}",
            registration_plate=f"BENCH{number}GP",
            practice_number="0123456",
        )
        session.add(vehicle)
        session.flush()
        stock = []
        for item_id, nappi, price in medicines:
            lot = Lot(
                item_id=item_id,
                vehicle_id=vehicle.id,
                batch_number=f"B{nappi[-4:]}",
                expiry_date=dt.date(2028, 6, 30),
                created_at=utcnow(),
            )
            session.add(lot)
            session.flush()
            stock.append((item_id, nappi, lot.id, price))
    return vehicle.id, stock


def new_edge(path: Path, key: bytes, node: str = EDGE_NODE) -> Engine:
    engine = sqlcipher_engine(path, key)
    migrate.upgrade(engine)
    with new_session(engine) as session, session.begin():
        ensure_node(session, node, "edge")
    return engine


@dataclass(frozen=True)
class HubSite:
    url: str  # the database's
    app: Any  # the hub's Flask app on it
    engine: Engine


@contextmanager
def hub_site(server_url: str, data_dir: Path) -> Iterator[HubSite]:
    """A new hub: its private database on the server, its app and an engine on it."""
    with hub_database(server_url) as url:
        key_file = data_dir / "sync-receipt.key"
        ensure_receipt_key(key_file)
        app = create_app(
            {
                "DATABASE_URL": url,
                "DATA_DIR": str(data_dir),
                "SECRET_KEY": secrets.token_hex(32),
                "SYNC_KEY_FILE": str(key_file),
                "AUDIT_KEY": AUDIT_KEY.text(),
            }
        )
        engine = plain_engine(url)
        try:
            yield HubSite(url, app, engine)
        finally:
            engine.dispose()
            with app.app_context():
                db.engine.dispose()


def enrolled(
    edge: Engine, hub: Engine, vehicle_id: str, hub_base: str, secrets_dir: Path
) -> EdgeSync:
    """The edge enrolled with the hub at `hub_base` for the vehicle, with its first pull
    (the vehicle, the formulary and its lots) done."""
    with new_session(hub) as session, session.begin():
        token = devices.issue_token(session, vehicle_id, None).token
    edge_sync.enroll(edge, secrets_dir, hub_base, token)
    client = edge_sync.client(edge, {"SECRETS_DIR": str(secrets_dir)})
    client.run()
    return client


def work_a_day(edge: Engine, vehicle_id: str, stock: list[Stocked], visits: int, rng: Any) -> None:
    """`visits` complete visits by the vehicle's crew, written on the edge."""
    team = crew(vehicle_id)
    for _ in range(visits):
        one_visit(edge, team, stock, rng)


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


def audited(
    session: Any, by: audit.Who, action: str, kind: str, resource_id: str, patient_id: str
) -> None:
    audit.record(
        session, by, action, resource_type=kind, resource_id=resource_id, patient_id=patient_id
    )


def note(session: Any, records: dict[str, str], stage: str, by: audit.Who, body: str) -> None:
    """A clinical note of the stage, by the crew member who worked it."""
    kind = {workflow.NURSING: "nursing", workflow.CONSULTATION: "consultation"}.get(
        stage, "counseling"
    )
    session.add(
        ClinicalNote(
            **records,
            stage=stage,
            kind=kind,
            body=body,
            author_id=by.user_id or "",
            created_at=utcnow(),
        )
    )


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
        audited(session, team.clerk, "patient.create", "patient", patient.id, patient.id)
        audited(session, team.clerk, "visit.open", "visit", visit.id, patient.id)
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
        note(
            session,
            records,
            workflow.NURSING,
            team.nurse,
            "Presents with complaint for 3 days. Vitals taken, no danger signs. "
            "Referred to doctor for assessment.",
        )
        audited(session, team.nurse, "vitals.record", "visit", visit.id, patient.id)
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
        note(
            session,
            records,
            workflow.CONSULTATION,
            team.doctor,
            "History and examination consistent with the diagnosis. Plan: medication "
            "as prescribed, lifestyle advice, review in four weeks or sooner if worse.",
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
        audited(session, team.doctor, "consultation.record", "visit", visit.id, patient.id)
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
            audited(
                session, team.nurse, "prescription.dispense", "prescription", row.id, patient.id
            )
        note(
            session,
            records,
            workflow.COUNSELING,
            team.counselor,
            "Explained the medication, adherence and danger signs; patient understood.",
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
        audited(session, team.clerk, "visit.close", "visit", visit.id, patient.id)


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


def pending(engine: Engine, node: str = EDGE_NODE) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM sync_change WHERE node = :n AND seq > "
                    "coalesce((SELECT pushed_seq FROM sync_link WHERE peer = 'hub'), 0)"
                ),
                {"n": node},
            ).scalar()
            or 0
        )


def hang_up(client: EdgeSync) -> None:
    """Close the client's kept-alive connection to the hub (through a Recorder too)."""
    transport = client.transport
    inner = transport.inner if isinstance(transport, Recorder) else transport
    inner.session.close()


class Recorder:
    """Wraps a sync client's transport to record each exchange: how long it took and which
    push batch it carried, so a benchmark can tell a batch sent again from a new one."""

    def __init__(self, client: EdgeSync) -> None:
        self.inner = client.transport
        client.transport = self
        self.seconds: list[float] = []
        self.hub_seconds: list[float] = []  # the hub's own time to answer (Server-Timing)
        self.batches: list[str | None] = []  # the batch id each exchange carried
        self.failed = 0
        session = getattr(self.inner, "session", None)  # over HTTP, not in-process
        if session is not None:
            session.hooks["response"].append(self._hub_time)

    def _hub_time(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        name, _, took = response.headers.get("Server-Timing", "").partition(";dur=")
        if name == "exchange":
            self.hub_seconds.append(float(took) / 1000)

    def exchange(self, body: bytes, hub_time_ms: int) -> bytes:
        batch = wire.unpack(body).get("batch")
        self.batches.append(batch["id"] if isinstance(batch, dict) else None)
        started = time.perf_counter()
        try:
            return self.inner.exchange(body, hub_time_ms)
        except Exception:
            self.failed += 1
            raise
        finally:
            self.seconds.append(time.perf_counter() - started)

    @property
    def resent(self) -> int:
        """Exchanges that carried a batch an earlier exchange had carried already."""
        sent = [batch for batch in self.batches if batch is not None]
        return len(sent) - len(set(sent))


@contextmanager
def waitress_serving(app: Any, threads: int = 4) -> Iterator[str]:
    """The base URL of a WSGI app under waitress (the production server) on loopback, in
    a thread of this process."""
    from waitress.server import create_server

    logging.getLogger("waitress").setLevel(logging.ERROR)
    server = create_server(app, host="127.0.0.1", port=0, threads=threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class HubServer:
    """A `clinic-hub serve` process started by `hub_processes`."""

    base: str
    pid: int


@contextmanager
def hub_processes(
    url: str, data: Path, processes: int, threads: int = 8, **extra: str
) -> Iterator[list[HubServer]]:
    """`clinic-hub serve` processes on the database, each ready to answer; `extra`: more
    of their environment variables."""
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_DATA_DIR": str(data / "hub"),
        "HUB_SECRETS_DIR": str(data / "hub-secrets"),
        **extra,
    }
    hub = str(Path(sys.executable).parent / "clinic-hub")
    subprocess.run([hub, "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
    with ExitStack() as stack:
        servers = []
        for _ in range(processes):
            port = socket_port()
            process = subprocess.Popen(  # noqa: S603 - our own command
                [hub, "serve", "--port", str(port), "--threads", str(threads)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(process.wait, 30)
            stack.callback(process.terminate)
            servers.append(HubServer(f"http://127.0.0.1:{port}", process.pid))
        for server in servers:
            wait_for(server.base)
        yield servers


def socket_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/api/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.3)
    raise RuntimeError(f"the hub at {base} did not start")
