"""A laptop's life against a real `clinic-hub serve` process on MySQL, in a temporary
folder: enroll (refusals change nothing) → initial load → work → sync → backup → wipe
(refused while work is unconfirmed) → head office recovers the key → restore →
re-enroll → the data is intact and syncs again."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from common.database import new_session, sqlcipher_engine
from hub.sync import device as devices
from provisioning import enrollment as enrollment_lib
from provisioning import tls
from provisioning.errors import ProvisioningError
from sync import signing
from tests.provisioning.conftest import ESCROW_PASSPHRASE, Laptop, snapshot
from tests.support import rows
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
