"""backup / verify-backup / restore: consistent under concurrent writes, restorable, and every
bad input (damaged backup, another vehicle, no space, edge running) refused with one clear
line and nothing changed."""

from __future__ import annotations

import json
import shutil
import threading
from collections import namedtuple
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from common import audit
from common.audit import Entry, Who
from common.database import (
    PAGE_HMAC,
    new_session,
    sqlcipher_connect,
    sqlcipher_engine,
    write_intent,
)
from provisioning import backup as backup_lib
from provisioning.key import KeyStore
from schema import migrate
from tests.conftest import TEST_AUDIT_KEY
from tests.provisioning.conftest import SECRET, Laptop, damage_table, mode, snapshot

VEHICLE = "0197a000-0000-7000-8000-00000000000a"
OTHER_VEHICLE = "0197a000-0000-7000-8000-00000000000b"
NURSE = Who("u-1", "sister", "nurse", "10.1.1.7", "tablet", None)


def enroll(database: Path, key: bytes, vehicle: str) -> None:
    """Stands in for enrollment (sync work): the node row learns its vehicle."""
    conn = sqlcipher_connect(database, key)
    conn.execute("UPDATE sync_node SET vehicle_id = ?", (vehicle,))
    conn.close()


def add_notes(laptop: Laptop, count: int, start: int = 0) -> None:
    conn = laptop.connect()
    conn.execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany(
        "INSERT INTO probe VALUES (?, ?)", [(i, f"note {i}") for i in range(start, start + count)]
    )
    conn.close()


def notes(database: Path, key: bytes) -> list[tuple[int, str]]:
    conn = sqlcipher_connect(database, key)
    rows = conn.execute("SELECT id, body FROM probe ORDER BY id").fetchall()
    conn.close()
    return rows


def take_backup(laptop: Laptop, usb: Path) -> Path:
    result = laptop.run("backup", str(usb))
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in usb.iterdir() if p.name.startswith("clinic-backup-")]
    return folder


@pytest.fixture
def usb(tmp_path: Path) -> Path:
    folder = tmp_path / "usb"
    folder.mkdir()
    return folder


def test_backup_writes_an_encrypted_copy_checksum_and_manifest(laptop: Laptop, usb: Path) -> None:
    enroll(laptop.database, laptop.key, VEHICLE)
    add_notes(laptop, 50)
    folder = take_backup(laptop, usb)
    assert sorted(p.name for p in folder.iterdir()) == [
        "edge.db",
        "edge.db.sha256",
        "manifest.json",
    ]
    assert not (folder / "edge.db").read_bytes().startswith(b"SQLite format 3")
    assert b"note 1" not in (folder / "edge.db").read_bytes()
    assert mode(folder / "edge.db") == 0o600
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["node_id"] == "dtest00000001" and manifest["vehicle_id"] == VEHICLE
    assert (
        manifest["schema_revision"] == migrate.head_revision()
        and manifest["row_counts"]["probe"] == 50
    )
    assert manifest["key_fingerprint"] == KeyStore(laptop.secrets / "db.key.wrapped").fingerprint()
    assert laptop.key.hex() not in json.dumps(manifest)
    sums = (folder / "edge.db.sha256").read_text().split()
    assert sums == [backup_lib.sha256_file(folder / "edge.db"), "edge.db"]
    verified = laptop.run("verify-backup", str(folder))
    assert verified.exit_code == 0 and "Backup is good" in verified.output
    assert notes(folder / "edge.db", laptop.key) == notes(laptop.database, laptop.key)


def test_a_backup_taken_during_writes_is_consistent_and_restorable(
    laptop: Laptop, usb: Path
) -> None:
    """A writer commits pairs of rows while the backup runs: the snapshot must hold whole
    pairs only, pass its integrity checks, and restore."""
    add_notes(laptop, 2)
    stop = threading.Event()
    written = []

    def writer() -> None:
        conn = laptop.connect()
        conn.execute("PRAGMA journal_mode = WAL")
        i = 1000
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO probe VALUES (?, 'pair a')", (i,))
            conn.execute("INSERT INTO probe VALUES (?, 'pair b')", (i + 1,))
            conn.execute("COMMIT")
            written.append(i)
            i += 2
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        folder = take_backup(laptop, usb)
        after_backup = len(written)
        while len(written) < after_backup + 5:  # the writer goes on after the snapshot
            stop.wait(0.01)
    finally:
        stop.set()
        thread.join()
    snapshot_rows = notes(folder / "edge.db", laptop.key)
    assert len(snapshot_rows) % 2 == 0 and len(snapshot_rows) >= 22
    assert len(snapshot_rows) < 2 + 2 * len(written)  # later commits are not in it
    assert laptop.run("verify-backup", str(folder)).exit_code == 0
    result = laptop.run("restore", str(folder))
    assert result.exit_code == 0, result.output
    assert notes(laptop.database, laptop.key) == snapshot_rows


def test_restore_puts_the_data_back_and_keeps_the_replaced_database(
    laptop: Laptop, usb: Path
) -> None:
    add_notes(laptop, 10)
    folder = take_backup(laptop, usb)
    add_notes(laptop, 5, start=10)  # work done after the backup
    result = laptop.run("restore", str(folder))
    assert result.exit_code == 0, result.output
    assert "Verifying" in result.output and "Swapping" in result.output  # progress
    assert len(notes(laptop.database, laptop.key)) == 10
    (kept,) = laptop.database.parent.glob("edge.db.before-restore-*")
    assert len(notes(kept, laptop.key)) == 15  # the replaced database was only set aside
    assert not list(laptop.database.parent.glob("*.restoring"))


def test_a_backup_from_before_a_key_rotation_still_restores(laptop: Laptop, usb: Path) -> None:
    add_notes(laptop, 10)
    folder = take_backup(laptop, usb)
    assert laptop.run("rotate-key").exit_code == 0
    result = laptop.run("restore", str(folder))
    assert result.exit_code == 0, result.output
    new_key = KeyStore(laptop.secrets / "db.key.wrapped").unlock(SECRET)
    assert len(notes(laptop.database, new_key)) == 10  # restored under the current key


@pytest.mark.parametrize("damage", ["flip a byte", "flip a byte and fix the checksums"])
def test_a_corrupted_backup_is_refused_and_nothing_changes(
    laptop: Laptop, usb: Path, damage: str
) -> None:
    add_notes(laptop, 10)
    folder = take_backup(laptop, usb)
    damage_table(folder / "edge.db", laptop.key, "probe")  # opens; its checks find it
    if "fix" in damage:
        digest = backup_lib.sha256_file(folder / "edge.db")
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["sha256"] = digest
        (folder / "manifest.json").write_text(json.dumps(manifest))
        (folder / "edge.db.sha256").write_text(f"{digest}  edge.db\n")
    laptop_before, usb_before = snapshot(laptop.root), snapshot(usb)
    for command in ("verify-backup", "restore"):
        result = laptop.run(command, str(folder))
        assert result.exit_code == 1, result.output
        expected = "checksum mismatch" if "fix" not in damage else "integrity"
        assert expected in result.output and "Traceback" not in result.output
    assert snapshot(laptop.root) == laptop_before and snapshot(usb) == usb_before


def test_an_incomplete_backup_is_refused(laptop: Laptop, usb: Path) -> None:
    folder = take_backup(laptop, usb)
    (folder / "manifest.json").unlink()
    result = laptop.run("verify-backup", str(folder))
    assert result.exit_code == 1 and "manifest.json is missing" in result.output


def test_a_backup_from_another_vehicle_needs_force_and_a_typed_confirmation(
    laptop: Laptop, usb: Path, tmp_path: Path, edge_template: Path
) -> None:
    enroll(laptop.database, laptop.key, VEHICLE)
    other = tmp_path / "other" / "edge.db"
    other.parent.mkdir()
    shutil.copyfile(edge_template, other)  # same key (as if recovered), another vehicle
    enroll(other, laptop.key, OTHER_VEHICLE)
    other_backup = backup_lib.backup(other, laptop.key, usb)
    before = snapshot(laptop.root)

    refused = laptop.run("restore", str(other_backup))
    assert refused.exit_code == 1
    assert OTHER_VEHICLE in refused.output and "--force" in refused.output
    mistyped = laptop.run("restore", str(other_backup), "--force", input="yes\n")
    assert mistyped.exit_code == 1 and "did not match" in mistyped.output
    assert snapshot(laptop.root) == before

    forced = laptop.run("restore", str(other_backup), "--force", input=OTHER_VEHICLE + "\n")
    assert forced.exit_code == 0, forced.output
    conn = laptop.connect()
    assert conn.execute("SELECT vehicle_id FROM sync_node").fetchone() == (OTHER_VEHICLE,)
    conn.close()


def test_no_space_on_the_stick_is_refused_before_writing(
    laptop: Laptop, usb: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk filling up is a boundary we do not own: the free-space reading is replaced
    by one that reports a nearly full stick."""
    real = shutil.disk_usage
    usage = namedtuple("usage", "total used free")

    def nearly_full(path: object) -> object:
        if Path(str(path)) == usb:
            return usage(64 * 1024**2, 64 * 1024**2 - 4096, 4096)
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    before = snapshot(laptop.root)
    result = laptop.run("backup", str(usb))
    assert result.exit_code == 1
    assert "not enough free space" in result.output and "nothing was written" in result.output
    assert list(usb.iterdir()) == []
    assert snapshot(laptop.root) == before


def test_restore_refuses_while_the_edge_has_the_database_open(laptop: Laptop, usb: Path) -> None:
    add_notes(laptop, 3)
    folder = take_backup(laptop, usb)
    add_notes(laptop, 3, start=3)
    server = laptop.connect()  # stands for the running edge server
    server.execute("PRAGMA journal_mode = WAL")
    server.execute("SELECT count(*) FROM probe").fetchone()
    result = laptop.run("restore", str(folder))
    server.close()
    assert result.exit_code == 1 and "in use" in result.output
    assert len(notes(laptop.database, laptop.key)) == 6
    assert not list(laptop.database.parent.glob("edge.db.*"))


def test_backup_into_a_missing_folder_is_a_clear_error(laptop: Laptop, tmp_path: Path) -> None:
    result = laptop.run("backup", str(tmp_path / "no-stick"))
    assert result.exit_code == 2 and "does not exist" in result.output


def as_made_before_hmac_sha256(database: Path, key: bytes) -> None:
    """Rewrite the laptop's database with SQLCipher 4's default page HMAC (SHA-512), as
    laptops installed before `PAGE_HMAC` have it."""
    older = database.with_name("older.db")
    conn = sqlcipher_connect(database, key)
    conn.execute(f"ATTACH DATABASE ? AS older KEY \"x'{key.hex()}'\"", (str(older),))
    conn.execute("PRAGMA older.cipher_hmac_algorithm = HMAC_SHA512")
    conn.execute("SELECT sqlcipher_export('older')")
    conn.execute("DETACH DATABASE older")
    conn.close()
    older.replace(database)


def page_hmac(database: Path, key: bytes) -> str:
    conn = sqlcipher_connect(database, key)
    try:
        return str(conn.execute("PRAGMA cipher_hmac_algorithm").fetchone()[0])
    finally:
        conn.close()


def test_a_backup_restored_at_once_moves_an_older_laptop_to_hmac_sha256_pages(
    laptop: Laptop, usb: Path
) -> None:
    """The conversion docs/operations.md gives (section 7) for laptops made before."""
    add_notes(laptop, 3)
    as_made_before_hmac_sha256(laptop.database, laptop.key)
    assert page_hmac(laptop.database, laptop.key) == "HMAC_SHA512"
    result = laptop.run("restore", str(take_backup(laptop, usb)))
    assert result.exit_code == 0, result.output
    assert page_hmac(laptop.database, laptop.key) == PAGE_HMAC
    assert len(notes(laptop.database, laptop.key)) == 3


def audited(laptop: Laptop, count: int) -> None:
    """Work on the laptop, each piece with its sealed audit record, under the laptop's
    audit key (the tests' key, as the `laptop` fixture puts it)."""
    engine = sqlcipher_engine(laptop.database, laptop.key)
    for number in range(count):
        with write_intent(), new_session(engine) as session, session.begin():
            audit.append(session, NURSE, Entry("read", resource_id=f"r{number}"))
    engine.dispose()


def audit_verify(laptop: Laptop) -> Result:
    from edge.cli import main as edge_main

    return CliRunner(env=laptop.env).invoke(edge_main, ["audit", "verify"])


def test_a_restore_on_the_same_laptop_keeps_its_audit_trail_verifiable(
    laptop: Laptop, usb: Path
) -> None:
    audited(laptop, 3)
    folder = take_backup(laptop, usb)
    audited(laptop, 2)
    result = laptop.run("restore", str(folder))
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output.lower()  # every seal verifies here
    assert "goes on as a branch from record #1000000001" in result.output
    checked = audit_verify(laptop)
    assert checked.exit_code == 0, checked.output
    assert "3 records, chain intact" in checked.output
    audited(laptop, 1)  # the next record starts the branch, and the trail still verifies
    assert "4 records, chain intact" in audit_verify(laptop).output


def test_a_replacement_laptop_says_the_old_seals_cannot_be_verified_there(
    laptop: Laptop, usb: Path
) -> None:
    """The audit key is not in the backup (nor is the database key): the old laptop's
    went with it. The restore makes the new laptop its own key, seals nothing, and says
    which records it cannot vouch for; `audit verify` names them."""
    audited(laptop, 3)
    folder = take_backup(laptop, usb)
    (laptop.secrets / "audit.key").unlink()  # a new laptop: no audit key yet

    result = laptop.run("restore", str(folder))

    assert result.exit_code == 0, result.output
    assert f"Made this laptop's audit key: {laptop.secrets / 'audit.key'}" in result.output
    assert (
        f"3 audit record(s) are sealed under another laptop's audit key ({TEST_AUDIT_KEY.id})"
        in result.output
    )
    assert mode(laptop.secrets / "audit.key") == 0o600
    checked = audit_verify(laptop)
    assert checked.exit_code == 1
    assert f"sealed under another audit key ({TEST_AUDIT_KEY.id})" in checked.output
