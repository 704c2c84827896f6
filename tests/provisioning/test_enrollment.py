"""A laptop's life against a real `clinic-hub serve` process on MySQL, in a temporary
folder: enroll (refusals change nothing) → initial load → work → sync → backup → wipe
(refused while work is unconfirmed) → head office recovers the key → restore →
re-enroll → the data is intact and syncs again."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner
from cryptography import x509
from sqlalchemy import Engine, text

from common.config import write_secret_file
from common.database import new_session, sqlcipher_engine
from edge.cli import main as edge_main
from edge.sync import service as edge_sync
from hub.sync import device as devices
from provisioning import enrollment as enrollment_lib
from provisioning import tls
from provisioning.errors import ProvisioningError
from sync import signing, wire
from sync.transport import EXCHANGE_PATH, CertificateChanged, HttpTransport, SyncError
from tests.provisioning.conftest import ESCROW_PASSPHRASE, Laptop, snapshot
from tests.support import rows
from tests.support.faultproxy import fault_proxy
from tests.support.hubprocess import HubProcess, free_port
from tests.support.identity import make_vehicle
from tests.support.sync import count
from tests.sync.test_protocol import visit

NEW_SECRET = "Recovered-Unlock-5512"


@pytest.fixture
def hub(hub_database_url: str, tmp_path: Path) -> Iterator[HubProcess]:
    process = HubProcess(hub_database_url, tmp_path)
    process.start()
    yield process
    process.stop()


def token(hub_engine: Engine, vehicle: str, hours: int = 2) -> str:
    with new_session(hub_engine) as session, session.begin():
        return devices.issue_token(session, vehicle, None, hours).token


def add_patients(laptop: Laptop, vehicle: str, names: list[str]) -> None:
    engine = sqlcipher_engine(laptop.database, laptop.key)
    try:
        with new_session(engine) as session, session.begin():
            for name in names:
                visit(session, rows.patient(session, first_name=name), vehicle)
    finally:
        engine.dispose()


def edge_count(laptop: Laptop, sql: str) -> int:
    with laptop.connect() as conn:
        return int(conn.execute(sql).fetchone()[0])


def test_enrollment_refusals_are_clear_and_change_nothing(
    laptop: Laptop, hub: HubProcess, hub_engine: Engine
) -> None:
    vehicle = make_vehicle(hub_engine)
    used = token(hub_engine, vehicle)
    with new_session(hub_engine) as session, session.begin():
        other = signing.public_key_text(signing.new_private_key())
        devices.enroll(session, used, "dzzzzzzzzzzzz", other, "other laptop", "")
    before = snapshot(laptop.root)
    cases = [
        (hub.base, "not-a-token-anyone-issued", "unknown"),
        (hub.base, token(hub_engine, vehicle, hours=0), "expired"),
        (hub.base, used, "already used"),
        (f"http://127.0.0.1:{free_port()}", token(hub_engine, vehicle), "cannot reach the hub"),
        ("hub.example.org", token(hub_engine, vehicle), "not a hub URL"),
    ]
    for url, given, message in cases:
        result = laptop.run("enroll", "--hub", url, "--token", given)
        assert result.exit_code == 1, result.output
        assert message in result.output
        assert "Traceback" not in result.output
        assert snapshot(laptop.root) == before, f"{message}: the laptop changed"
    assert count(hub_engine, f"SELECT count(*) FROM device WHERE vehicle_id = '{vehicle}'") == 1


def test_a_laptop_from_enrollment_to_wipe_and_back(
    laptop: Laptop, hub: HubProcess, hub_engine: Engine, tmp_path: Path
) -> None:
    vehicle = make_vehicle(hub_engine)
    enrolled = laptop.run("enroll", "--hub", hub.base, "--token", token(hub_engine, vehicle))
    assert enrolled.exit_code == 0, enrolled.output
    assert "Connection to the hub verified" in enrolled.output
    device_id = edge_count_text(laptop, "SELECT id FROM sync_node")
    assert edge_count_text(laptop, "SELECT vehicle_id FROM sync_node") == vehicle
    with hub_engine.connect() as connection:
        escrow = connection.execute(
            text("SELECT key_escrow FROM device WHERE id = :d"), {"d": device_id}
        ).scalar()
    assert escrow, "the key's escrow copy reached the hub"
    assert edge_count(laptop, f"SELECT count(*) FROM vehicle WHERE id = '{vehicle}'") == 1

    loaded = laptop.run("initial-load")
    assert loaded.exit_code == 0, loaded.output
    assert "Initial load complete" in loaded.output

    add_patients(laptop, vehicle, ["Ayanda", "Bongani", "Chipo"])
    before = snapshot(laptop.root)
    refused = laptop.run("wipe")
    assert refused.exit_code == 1
    assert "not yet confirmed" in refused.output
    wrong = laptop.run("wipe", "--force", "--confirm", "dnottheright1")
    assert wrong.exit_code == 1
    assert "did not match" in wrong.output
    assert snapshot(laptop.root) == before

    synced = laptop.run("initial-load")
    assert synced.exit_code == 0, synced.output
    assert count(hub_engine, "SELECT count(*) FROM patient WHERE first_name = 'Chipo'") == 1
    usb = tmp_path / "usb"
    usb.mkdir()
    backed_up = laptop.run("backup", str(usb))
    assert backed_up.exit_code == 0, backed_up.output
    (folder,) = usb.iterdir()

    wiped = laptop.run("wipe")
    assert wiped.exit_code == 0, wiped.output
    assert not laptop.database.exists()
    assert not any(laptop.secrets.glob("*.key")) and not any(laptop.secrets.glob("*.json"))
    with hub_engine.connect() as connection:
        status, retired_at = connection.execute(
            text("SELECT status, retired_at FROM device WHERE id = :d"), {"d": device_id}
        ).one()
    assert status == "retired" and retired_at is not None

    # Head office recovers the key from the escrow copy the hub holds.
    blob = tmp_path / "escrow.json"
    blob.write_text(escrow)
    wrapped = laptop.env["EDGE_SECRETS_DIR"] + "/db.key.wrapped"
    recovered = laptop.run(
        "recover-key",
        "--blob",
        str(blob),
        "--private-key",
        str(laptop.escrow_private),
        "--out",
        wrapped,
        "--stdin",
        input=f"{ESCROW_PASSPHRASE}\n{NEW_SECRET}\n",
    )
    assert recovered.exit_code == 0, recovered.output
    laptop.env["EDGE_UNLOCK_SECRET"] = NEW_SECRET
    restored = laptop.run("restore", str(folder))
    assert restored.exit_code == 0, restored.output
    assert edge_count(laptop, "SELECT count(*) FROM patient") == 3

    again = laptop.run("enroll", "--hub", hub.base, "--token", token(hub_engine, vehicle))
    assert again.exit_code == 0, again.output
    add_patients(laptop, vehicle, ["Dumisani"])
    resynced = laptop.run("initial-load")
    assert resynced.exit_code == 0, resynced.output
    assert count(hub_engine, "SELECT count(*) FROM patient WHERE first_name = 'Dumisani'") == 1
    status_line = laptop.run("wipe", "--force", "--confirm", device_id)
    assert status_line.exit_code == 0, status_line.output  # synced, so a forced wipe works too


def test_an_interrupted_initial_load_resumes_and_doubles_nothing(
    laptop: Laptop, hub: HubProcess, hub_engine: Engine
) -> None:
    vehicle = make_vehicle(hub_engine)
    with new_session(hub_engine) as session, session.begin():
        for n in range(30):
            visit(session, rows.patient(session, first_name=f"Load{n}"), vehicle)
    plan: deque[str] = deque()
    with fault_proxy(hub.base, lambda: plan.popleft() if plan else "pass") as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        plan.extend(["pass", "cut_response"])  # enrolled; the first sync's reply is lost
        enrolled = laptop.run("enroll", "--hub", url, "--token", token(hub_engine, vehicle))
        assert enrolled.exit_code == 1 and "clinic-provision initial-load" in enrolled.output
        assert edge_count(laptop, "SELECT count(*) FROM patient") == 0

        plan.extend(["pass", "pass", "pass", "cut_response"])
        cut = laptop.run("initial-load", "--chunk-rows", "10")
        assert cut.exit_code == 1, cut.output
        assert "run the command again to resume" in cut.output
        assert "30 of 61 rows loaded" in cut.output and "Traceback" not in cut.output
        partial = [edge_count(laptop, f"SELECT count(*) FROM {t}") for t in ("patient", "visit")]
        assert sum(partial) in (29, 30), "three chunks of ten rows (the vehicle's own row too)"

        before = proxy.seen["pass"]
        resumed = laptop.run("initial-load", "--chunk-rows", "10")
        assert resumed.exit_code == 0, resumed.output
        assert "Initial load complete" in resumed.output
        exchanges = proxy.seen["pass"] - before
    lines = [line.strip() for line in resumed.output.splitlines() if "rows loaded" in line]
    assert lines == [f"{n} of 61 rows loaded" for n in (40, 50, 60, 61)], "resumed at 30"
    assert exchanges == len(lines) + 1, "the four chunks left, then one sync exchange"
    assert edge_count(laptop, "SELECT count(*) FROM patient") == 30
    assert edge_count(laptop, f"SELECT count(*) FROM visit WHERE vehicle_id = '{vehicle}'") == 30
    logged = edge_count(laptop, "SELECT count(*) FROM sync_change WHERE table_name = 'patient'")
    assert logged == 0, "loaded unlogged, and no patient applied again (that would log it)"
    mine = edge_count(
        laptop, "SELECT count(*) FROM sync_change c JOIN sync_node n ON c.node = n.id"
    )
    assert mine == 0, "nothing loaded is taken for the laptop's own work"


def test_clinic_edge_enroll_and_a_never_loaded_sync_take_the_snapshot_in_bulk(
    laptop: Laptop, hub: HubProcess, hub_engine: Engine
) -> None:
    """`clinic-edge enroll`'s first sync and the first `clinic-edge sync` of a laptop that
    has never pulled take the starting data as snapshot chunks, like `initial-load`."""
    vehicle = make_vehicle(hub_engine)
    with new_session(hub_engine) as session, session.begin():
        for n in range(5):
            visit(session, rows.patient(session, first_name=f"Bulk{n}"), vehicle)
    plan = deque(["pass", "cut_response"])  # enrolled; the first sync's reply is lost
    runner = CliRunner(env=laptop.env)
    with fault_proxy(hub.base, lambda: plan.popleft() if plan else "pass") as proxy:
        url = f"http://127.0.0.1:{proxy.port}"
        enrolled = runner.invoke(
            edge_main, ["enroll", "--hub", url, "--token", token(hub_engine, vehicle)]
        )
        assert enrolled.exit_code == 1 and "Enrolled device" in enrolled.output
        assert edge_count(laptop, "SELECT count(*) FROM patient") == 0
        first = exchanges(proxy.requests)
        assert len(first) == 1 and "snapshot" in first[0], "the first sync asked for a snapshot"

        synced = runner.invoke(edge_main, ["sync"])
        assert synced.exit_code == 0, synced.output
        asks = exchanges(proxy.requests)[1:]
    assert "snapshot" in asks[0], "a never-loaded laptop's sync loads the snapshot"
    assert all("snapshot" not in ask for ask in asks[1:]), "then exchanges, change by change"
    assert edge_count(laptop, "SELECT count(*) FROM patient") == 5
    assert edge_count(laptop, f"SELECT count(*) FROM visit WHERE vehicle_id = '{vehicle}'") == 5
    assert edge_count(laptop, "SELECT pull_cursor FROM sync_link") > 0


def exchanges(requests: list[bytes]) -> list[dict[str, object]]:
    """The sync messages among the requests a proxy saw, decoded."""
    return [
        wire.unpack(request.partition(b"\r\n\r\n")[2])
        for request in requests
        if request.startswith(f"POST {EXCHANGE_PATH} ".encode())
    ]


def edge_count_text(laptop: Laptop, sql: str) -> str:
    with laptop.connect() as conn:
        return str(conn.execute(sql).fetchone()[0])


def test_the_hub_certificate_is_verified_and_its_fingerprint_pinned(tmp_path: Path) -> None:
    files = tls.TlsFiles(tmp_path / "tls")
    issued = tls.issue(files, "hub", ["localhost"], ["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.server_cert, files.server_key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve(handshakes: int) -> None:
        for _ in range(handshakes):
            conn, _ = listener.accept()
            with contextlib.suppress(ssl.SSLError, OSError), context.wrap_socket(conn, True):
                pass

    server = threading.Thread(target=serve, args=(2,), daemon=True)
    server.start()
    url = f"https://localhost:{port}"
    pinned = enrollment_lib.hub_fingerprint(url, str(files.ca_cert))
    assert pinned == issued.server_fingerprint
    with pytest.raises(ProvisioningError, match="not trusted"):
        enrollment_lib.hub_fingerprint(url, None)
    server.join(timeout=10)
    listener.close()


class _Hub(http.server.BaseHTTPRequestHandler):
    """Stands in for the hub behind TLS: counts the requests that get through."""

    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_hub(tmp_path: Path) -> Iterator[tuple[str, tls.TlsFiles, str]]:
    """An HTTPS listener under head office's CA; yields (url, files, pin of a previous
    certificate of the same name and CA, as if the hub's certificate had changed)."""
    files = tls.TlsFiles(tmp_path / "tls")
    before = tls.issue(files, "hub", ["localhost"], ["127.0.0.1"]).server_fingerprint
    tls.issue(files, "hub", ["localhost"], ["127.0.0.1"])
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.server_cert, files.server_key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hub.seen.clear()
    yield f"https://localhost:{server.server_address[1]}", files, before
    server.shutdown()
    server.server_close()


def test_every_later_sync_checks_the_pinned_hub_certificate(
    tls_hub: tuple[str, tls.TlsFiles, str], edge_db: Path, edge_key: bytes, tmp_path: Path
) -> None:
    url, files, old_pin = tls_hub
    key = signing.new_private_key()
    now = tls.cert_fingerprint(x509.load_pem_x509_certificate(files.server_cert.read_bytes()))
    trusted = HttpTransport(url, "d1", key, verify=str(files.ca_cert), pin=now)
    assert trusted.exchange(b"{}", 0) == b"ok", "the pinned certificate is accepted"
    assert _Hub.seen == ["/api/sync/exchange"]

    changed = HttpTransport(url, "d1", key, verify=str(files.ca_cert), pin=old_pin)
    with pytest.raises(CertificateChanged, match="not the one pinned at enrollment"):
        changed.exchange(b"{}", 0)
    assert _Hub.seen == ["/api/sync/exchange"], "nothing was sent to the other certificate"

    # the edge's own sync reads the pin recorded at enrollment
    secrets_dir = tmp_path / "secrets"
    write_secret_file(secrets_dir / edge_sync.DEVICE_KEY, signing.private_key_text(key))
    enrolled = edge_sync.Enrollment(
        url, "d1", "vehicle", signing.public_key_text(key), old_pin, str(files.ca_cert)
    )
    (secrets_dir / edge_sync.ENROLLMENT).write_text(json.dumps(enrolled.__dict__))
    engine = sqlcipher_engine(edge_db, edge_key)
    config = {"SECRETS_DIR": str(secrets_dir)}
    try:
        with pytest.raises(SyncError, match="TLS certificate is not the one pinned"):
            edge_sync.run(engine, config)
        with pytest.raises(SyncError, match="TLS certificate is not the one pinned"):
            edge_sync.retire(engine, config)
        assert "pinned" in (edge_sync.status(engine, config)["last_error"] or "")
    finally:
        engine.dispose()
    assert _Hub.seen == ["/api/sync/exchange"]
