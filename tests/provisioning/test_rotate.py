"""rotate-key re-keys the database keeping every row, refuses while the edge has it open,
and survives being cut off at any point between its steps."""

from __future__ import annotations

import gc

from click.testing import CliRunner

from edge.cli import main as edge_main
from provisioning import edgedb
from provisioning.escrow import recover_key
from provisioning.key import KeyStore, fingerprint, new_key, open_key, opens
from tests.provisioning.conftest import ESCROW_PASSPHRASE, SECRET, Laptop, snapshot

ROWS = 500


def fill(laptop: Laptop) -> list[tuple[object, ...]]:
    """Rows with content, so a lost or garbled row would show."""
    conn = laptop.connect()
    conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, body TEXT, blob BLOB)")
    conn.execute("BEGIN")
    for i in range(ROWS):
        conn.execute(
            "INSERT INTO probe VALUES (?, ?, ?)", (i, f"visit note {i}", bytes([i % 256]) * 64)
        )
    conn.execute("COMMIT")
    conn.close()
    return dump(laptop, laptop.key)


def dump(laptop: Laptop, key: bytes) -> list[tuple[object, ...]]:
    conn = laptop.connect(key)
    rows = conn.execute("SELECT * FROM probe ORDER BY id").fetchall()
    rows += conn.execute("SELECT id, vehicle_id FROM sync_node").fetchall()
    conn.close()
    return rows


def edge_migrates(laptop: Laptop) -> bool:
    """`clinic-edge migrate` in this process; its engine's pooled connections are closed
    afterwards, as they are when the real command's process exits."""
    result = CliRunner(env=laptop.env).invoke(edge_main, ["migrate"])
    gc.collect()
    return result.exit_code == 0


def current_key(laptop: Laptop) -> bytes:
    return open_key(KeyStore(laptop.secrets / "db.key.wrapped"), SECRET, laptop.database)


def test_rotate_key_keeps_every_row_under_a_new_key(laptop: Laptop) -> None:
    before = fill(laptop)
    result = laptop.run("rotate-key")
    assert result.exit_code == 0, result.output
    new = current_key(laptop)
    assert new != laptop.key
    assert f"-> {fingerprint(new)}" in result.output
    assert dump(laptop, new) == before
    assert not _opens(laptop, laptop.key)
    with edgedb.read_only(laptop.database, new) as conn:
        assert edgedb.integrity_problems(conn) == []
    blob = (laptop.secrets / "key-escrow.json").read_text()
    assert recover_key(blob, laptop.escrow_private.read_bytes(), ESCROW_PASSPHRASE) == new
    assert edge_migrates(laptop)


def test_rotate_key_refuses_while_the_edge_has_the_database_open(laptop: Laptop) -> None:
    fill(laptop)
    before = snapshot(laptop.root)
    server = laptop.connect()  # stands for the running edge server
    server.execute("PRAGMA journal_mode = WAL")
    server.execute("SELECT count(*) FROM probe").fetchone()
    result = laptop.run("rotate-key")
    server.close()
    assert result.exit_code == 1
    assert "in use" in result.output and "Traceback" not in result.output
    assert current_key(laptop) == laptop.key
    assert _opens(laptop, laptop.key)
    assert set(snapshot(laptop.root)) - set(before) <= {"secrets/db.key.wrapped.pending"}


def test_cut_off_after_writing_the_pending_key(laptop: Laptop) -> None:
    """Crash point 1: the new key is saved as pending, the database not yet re-keyed."""
    before = fill(laptop)
    store = KeyStore(laptop.secrets / "db.key.wrapped")
    store.save_pending(new_key(), SECRET)
    assert current_key(laptop) == laptop.key  # the edge still starts
    assert edge_migrates(laptop)
    result = laptop.run("rotate-key")  # starts again with a fresh key
    assert result.exit_code == 0, result.output
    assert not store.pending.exists()
    assert dump(laptop, current_key(laptop)) == before


def test_cut_off_after_rekeying_before_promoting(laptop: Laptop) -> None:
    """Crash point 2: the database is re-keyed, but the new key is still only pending."""
    before = fill(laptop)
    store = KeyStore(laptop.secrets / "db.key.wrapped")
    fresh = new_key()
    store.save_pending(fresh, SECRET)
    with edgedb.exclusive(laptop.database, laptop.key) as conn:
        conn.execute(f"PRAGMA rekey = \"x'{fresh.hex()}'\"")
    assert current_key(laptop) == fresh  # unlocking falls back to the pending key
    assert edge_migrates(laptop)
    result = laptop.run("rotate-key")
    assert result.exit_code == 0, result.output
    assert "Finished an interrupted rotation" in result.output
    assert store.unlock(SECRET) == fresh and not store.pending.exists()
    assert KeyStore(store.retired(fingerprint(laptop.key))).unlock(SECRET) == laptop.key
    assert dump(laptop, fresh) == before


def test_status_reports_an_unfinished_rotation(laptop: Laptop) -> None:
    KeyStore(laptop.secrets / "db.key.wrapped").save_pending(new_key(), SECRET)
    result = laptop.run("doctor")
    assert result.exit_code == 1
    assert "rotation was interrupted" in result.output and "rotate-key" in result.output


def _opens(laptop: Laptop, key: bytes) -> bool:
    return opens(laptop.database, key)
