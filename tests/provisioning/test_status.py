"""status / doctor: one screen that says what needs attention, exits non-zero when
something does, and speaks JSON too."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from common.database import sqlcipher_connect
from tests.provisioning.conftest import Laptop, damage_table
from tests.provisioning.test_backup import VEHICLE, enroll
from tests.provisioning.test_service import fake_systemctl


def checks(laptop: Laptop, **env: str | None) -> tuple[int, dict[str, dict[str, str]]]:
    result = laptop.run("status", "--json", **env)
    data = json.loads(result.output)
    assert data["ok"] == (result.exit_code == 0)
    return result.exit_code, {check["name"]: check for check in data["checks"]}


def synced(database: Path, key: bytes, ago: dt.timedelta, offset_ms: int) -> None:
    """Stands in for a sync (the lead's work): the hub link's bookkeeping row."""
    at = (dt.datetime.now(dt.UTC) - ago).replace(tzinfo=None).isoformat(sep=" ")
    conn = sqlcipher_connect(database, key)
    conn.execute(
        "INSERT INTO sync_link (peer, pushed_seq, pull_cursor, digest, clock_offset_ms, "
        "last_success_at, failures) VALUES ('hub', 0, 0, '', ?, ?, 0)",
        (offset_ms, at),
    )
    conn.close()


def test_a_fresh_laptop_needs_enrollment_and_a_certificate(laptop: Laptop) -> None:
    code, found = checks(laptop)
    assert code == 1
    assert found["enrollment"]["state"] == "attention"
    assert "not enrolled" in found["enrollment"]["summary"]
    assert found["sync"]["state"] == "info" and "never synced" in found["sync"]["summary"]
    assert found["tls"]["state"] == "attention"
    assert found["key"]["state"] == "ok" and "escrowed" in found["key"]["summary"]
    assert found["database"]["state"] == "ok" and found["migrations"]["state"] == "ok"
    assert laptop.key.hex() not in json.dumps(found)


def test_a_ready_laptop_is_all_good(laptop: Laptop, tmp_path: Path) -> None:
    enroll(laptop.database, laptop.key, VEHICLE)
    synced(laptop.database, laptop.key, dt.timedelta(hours=1), offset_ms=800)
    assert laptop.run("tls-cert").exit_code == 0
    env, _ = fake_systemctl(tmp_path, active_since_us=0)
    result = laptop.run("status", **env)
    assert result.exit_code == 0, result.output
    assert "All good." in result.output and VEHICLE in result.output
    assert "clock offset +0.8 s" in result.output
    assert "ok         clinic-edge.service" in result.output


def test_clock_drift_and_stale_sync_need_attention(laptop: Laptop) -> None:
    enroll(laptop.database, laptop.key, VEHICLE)
    synced(laptop.database, laptop.key, dt.timedelta(days=5), offset_ms=600_000)
    code, found = checks(laptop)
    assert code == 1 and found["sync"]["state"] == "attention"
    result = laptop.run("doctor")
    assert "timedatectl" in result.output  # doctor says what to do


def test_a_locked_key_is_reported_not_a_crash(laptop: Laptop) -> None:
    code, found = checks(laptop, EDGE_UNLOCK_SECRET="Wrong-Secret-42")
    assert code == 1
    assert found["key"]["state"] == "attention" and "wrong unlock secret" in found["key"]["summary"]
    assert "without the key" in found["database"]["summary"]


@pytest.mark.parametrize(("where", "said"), [("table", "damaged"), ("first", "its first pages")])
def test_a_damaged_database_needs_attention(laptop: Laptop, where: str, said: str) -> None:
    """Damage in a table's page (the file opens, its checks fail) or in the first page
    (it no longer opens with the laptop's own key): either way, restore a backup."""
    if where == "table":
        damage_table(laptop.database, laptop.key, "sync_change")
    else:
        data = bytearray(laptop.database.read_bytes())
        data[100] ^= 0xFF
        laptop.database.write_bytes(bytes(data))
    result = laptop.run("doctor")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert said in result.output and "restore the latest backup" in result.output


def test_only_the_laptops_own_changes_count_as_waiting(laptop: Laptop) -> None:
    """What the laptop pulled from the hub is in its change log too, but never waits."""
    enroll(laptop.database, laptop.key, VEHICLE)
    synced(laptop.database, laptop.key, dt.timedelta(hours=1), offset_ms=0)
    conn = sqlcipher_connect(laptop.database, laptop.key)
    node = conn.execute("SELECT id FROM sync_node").fetchone()[0]
    for n, writer in enumerate((node, "hub", "hub")):
        conn.execute(
            "INSERT INTO sync_change (table_name, row_id, op, version, node, scope_kind, "
            "commit_seq) VALUES ('patient', ?, 'i', ?, ?, 'patient', NULL)",
            (f"row-{n}", f"{n + 1:016x}@{writer}", writer),
        )
    conn.close()
    _, found = checks(laptop)
    assert "1 changes waiting" in found["sync"]["summary"]
