"""A laptop restored from its own backup loses nothing (issue finding: restored laptops).

Through real parts: a `clinic-hub serve` process, a SQLCipher edge enrolled over HTTP,
the provisioning backup and restore. The laptop is backed up, does more work and syncs
it, is restored from the backup (going back in time), and does new work: after its next
sync the hub holds all of it, the laptop holds all of it again, and the status says
"synced" only once the hub's signed receipt matches the laptop's own log (invariant 20).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from common import audit
from common.database import new_session, sqlcipher_engine
from edge.sync import service as edge_sync
from provisioning import backup as backup_lib
from provisioning import restore as restore_lib
from schema.models import Patient
from tests.conftest import TEST_AUDIT_KEY
from tests.support import rows
from tests.support.hubprocess import HubProcess, edge_for
from tests.support.sync import applied_once, count

STATUS = {"CLOCK_DRIFT_WARNING_SECONDS": 120}


def register(engine: Engine, vehicle_id: str, names: list[str]) -> None:
    """Patients registered, each with its audit record, as the crew's pages would."""
    with new_session(engine) as session, session.begin():
        for name in names:
            patient = rows.patient(session, first_name=name, registered_vehicle_id=vehicle_id)
            session.flush()
            who = audit.Who(None, "clerk", "clerk", None, None, vehicle_id)
            audit.record(
                session, who, "patient_created", resource_type="patient", resource_id=patient.id
            )


def chains_verify(engine: Engine) -> None:
    with new_session(engine) as session:
        reports = audit.verify(session, TEST_AUDIT_KEY)
    assert [r for r in reports if r.broken is not None] == []


def names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.scalars(text("SELECT first_name FROM patient")))


def status(engine: Engine, config: dict[str, str]) -> dict[str, object]:
    return edge_sync.status(engine, {**config, **STATUS})


def test_a_laptop_restored_from_its_backup_loses_nothing(
    hub_process: HubProcess,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    engine, config, vehicle = edge_for(
        "r", hub_process, hub_engine, edge_template, edge_key, tmp_path
    )
    database = Path(str(engine.url.database))
    usb = tmp_path / "usb"
    usb.mkdir()
    register(engine, vehicle, [f"before{n}" for n in range(5)])
    edge_sync.run(engine, config)
    folder = backup_lib.backup(database, edge_key, usb)  # at push position P

    made_after_backup = [f"after{n}" for n in range(20)]
    register(engine, vehicle, made_after_backup)
    edge_sync.run(engine, config)  # the hub's position moves past P
    assert status(engine, config)["synced"] is True
    engine.dispose()

    restore_lib.restore(folder, edge_key, edge_key, database)  # the laptop goes back in time
    audit_key = tmp_path / "audit.key"
    audit_key.write_text(TEST_AUDIT_KEY.text())
    audit_key.chmod(0o600)
    assert restore_lib.audit_standing(database, edge_key, audit_key).branch > 0
    engine = sqlcipher_engine(database, edge_key)
    chains_verify(engine)
    try:
        assert not names(engine) & set(made_after_backup)
        made_after_restore = [f"restored{n}" for n in range(15)]
        register(engine, vehicle, made_after_restore)
        result = edge_sync.run(engine, config)
        everyone = (
            {f"before{n}" for n in range(5)} | set(made_after_backup) | set(made_after_restore)
        )
        assert names(hub_engine) == everyone  # the hub took the new work, none dropped
        assert names(engine) == everyone  # and the laptop has its own work back
        state = status(engine, config)
        assert state["synced"] is True, state
        assert "restored from a backup" in str(state["rebase"])
        assert result.pushed >= 15
        with new_session(engine) as session:
            assert session.query(Patient).count() == 40
        node = edge_sync.enrollment(Path(config["SECRETS_DIR"])).device_id
        applied_once(hub_engine, node)
        assert count(hub_engine, "SELECT count(*) FROM patient") == 40
        # every audit record reached the hub, both branches of the laptop's trail verify
        records = "SELECT count(*) FROM audit_record WHERE action = 'patient_created'"
        assert count(hub_engine, records) == 40
        assert count(hub_engine, "SELECT count(*) FROM sync_quarantine") == 0
        chains_verify(hub_engine)
        chains_verify(engine)
        # later work syncs as ever
        register(engine, vehicle, ["later"])
        assert edge_sync.run(engine, config).pushed >= 1
        assert "later" in names(hub_engine) and status(engine, config)["synced"] is True
    finally:
        engine.dispose()


def test_a_receipt_that_does_not_match_the_laptops_log_is_never_synced(
    hub_process: HubProcess,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> None:
    """Restored, with nothing new to send: the empty sync's receipt covers changes the
    laptop does not have, so it re-bases instead of saying "synced" over a gap."""
    engine, config, vehicle = edge_for(
        "s", hub_process, hub_engine, edge_template, edge_key, tmp_path
    )
    database = Path(str(engine.url.database))
    usb = tmp_path / "usb"
    usb.mkdir()
    folder = backup_lib.backup(database, edge_key, usb)
    register(engine, vehicle, ["Lost", "Not"])
    edge_sync.run(engine, config)
    engine.dispose()
    restore_lib.restore(folder, edge_key, edge_key, database)
    engine = sqlcipher_engine(database, edge_key)
    try:
        assert names(engine) == set()
        edge_sync.run(engine, config)
        assert names(engine) == {"Lost", "Not"}
        assert status(engine, config)["synced"] is True
    finally:
        engine.dispose()
