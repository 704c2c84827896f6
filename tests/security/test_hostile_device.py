"""A stolen laptop, over real HTTP: its own enrolled device key signs every forged batch
correctly, so transport security lets each through, and only the hub's authority (its
own records: the device's vehicle, the rows it holds, the vehicle's patients) stands
between the thief and the fleet. Each forbidden change is refused or quarantined with
its reason and changes nothing at the hub (a digest per table before and after), no
other vehicle's laptop is touched, and the honest vehicle beside it still syncs.

Two vehicles A (the stolen laptop) and B run as SQLCipher edges enrolled over HTTP with a
real `clinic-hub serve` process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, text

import schema
from common.database import new_session
from common.users import create_user
from edge.sync import service as edge_sync
from schema.base import new_id, utcnow
from schema.models import Item, Location, Tariff
from sync import chain, signing, wire
from sync.change import Change
from sync.clock import HybridLogicalClock, Version, wall_millis
from sync.protocol import Batch, Reply, Request
from sync.transport import HttpTransport, HubRefused
from tests.support import rows
from tests.support.hubprocess import HubProcess, edge_for
from tests.support.identity import PASSWORD
from tests.support.sync import count, table_rows
from tests.support.tables import digest, moved

CHAINS = chain.of(schema.synced_tables())
# What an exchange may change at the hub even when it applies nothing: its bookkeeping,
# and its audit records of the exchange.
BOOKKEEPING = (
    "sync_link",
    "sync_batch",
    "sync_quarantine",
    "sync_inbox",
    "sync_counter",
    "sync_node",
    "sync_nonce",
    "device",
    "audit_record",
    "audit_chain",
)


@dataclass
class Laptop:
    """An enrolled vehicle's edge, and what its thief holds: the device key."""

    engine: Engine
    config: dict[str, str]
    vehicle_id: str
    device_id: str
    key: signing.Ed25519PrivateKey


class Thief:
    """Sends batches of its own making, signed with the stolen laptop's device key."""

    def __init__(self, hub: HubProcess, hub_engine: Engine, laptop: Laptop) -> None:
        self.hub_engine = hub_engine
        self.laptop = laptop
        self.transport = HttpTransport(hub.base, laptop.device_id, laptop.key)
        self.clock = HybridLogicalClock(laptop.device_id)

    def send(self, *changes: Change) -> list[tuple[Change, str]]:
        """One signed exchange carrying `changes`; what the hub quarantined."""
        after = count(
            self.hub_engine,
            "SELECT pushed_seq FROM sync_link WHERE peer = :p",
            p=self.laptop.device_id,
        )
        batch = Batch(new_id().replace("-", ""), after, after + len(changes), list(changes))
        request = Request(batch, 0, True, wall_millis())
        body = wire.pack(request.to_wire(CHAINS))
        reply = Reply.from_wire(wire.unpack(self.transport.exchange(body, wall_millis())), CHAINS)
        return reply.quarantined

    def insert(self, table: str, values: dict[str, Any], version: str | None = None) -> Change:
        return Change(
            table,
            new_id(),
            "i",
            version or self.clock.tick(),
            values,
            origin=self.laptop.device_id,
        )

    def update(self, table: str, row_id: str, **values: Any) -> Change:
        return Change(table, row_id, "u", self.clock.tick(), values)

    def delete(self, table: str, row_id: str) -> Change:
        return Change(table, row_id, "d", self.clock.tick())


@pytest.fixture
def fleet(
    hub_process: HubProcess,
    hub_engine: Engine,
    edge_template: Path,
    edge_key: bytes,
    tmp_path: Path,
) -> Iterator[tuple[Laptop, Laptop]]:
    """A (stolen) and B, each enrolled over HTTP and synced, B with a patient of its own."""
    made = []
    for name in ("a", "b"):
        engine, config, vehicle = edge_for(
            name, hub_process, hub_engine, edge_template, edge_key, tmp_path
        )
        key = signing.load_private_key(
            (Path(config["SECRETS_DIR"]) / edge_sync.DEVICE_KEY).read_text().strip()
        )
        with engine.connect() as connection:
            device = connection.execute(text("SELECT id FROM sync_node")).scalar_one()
        made.append(Laptop(engine, config, vehicle, device, key))
    yield made[0], made[1]
    for laptop in made:
        laptop.engine.dispose()


def head_office_world(hub_engine: Engine, a: Laptop, b: Laptop) -> dict[str, str]:
    """Head office's own rows a thief would like to change: its ids."""
    with new_session(hub_engine) as session, session.begin():
        province = rows.province(session, code="LP")
        location = Location(province_id=province.id, name="Jane Furse")
        item = Item(name="Amoxicillin 500mg", kind="medicine", unit="capsule", active=True)
        tariff = Tariff(code="0190", description="Consultation", kind="consultation", amount=350)
        session.add_all([location, item, tariff])
        session.flush()
        nurse = create_user(
            session,
            username="hq.nurse",
            full_name="Head Office Nurse",
            role="nurse",
            password=PASSWORD,
            vehicle_ids=[a.vehicle_id],
        )
        admin = create_user(
            session,
            username="hq.admin",
            full_name="Head Office Admin",
            role="administrator",
            password=PASSWORD,
        )
    return {
        "province": province.id,
        "location": location.id,
        "item": item.id,
        "tariff": tariff.id,
        "nurse": nurse.id,
        "admin": admin.id,
    }


def forgeries(thief: Thief, ids: dict[str, str], b: Laptop) -> dict[str, list[Change]]:
    """Every kind of forbidden change, by what it tries."""
    patient = table_rows(thief.hub_engine, "patient")[0]
    patient_id = patient["id"]
    assignment = table_rows(thief.hub_engine, "user_vehicle")[0]
    other_device = HybridLogicalClock(b.device_id)
    far_future = str(Version((1 << 48) - 2, 0xFFFE, thief.laptop.device_id))
    request = {
        "vehicle_id": thief.laptop.vehicle_id,
        "priority": "normal",
        "reason": "honest-looking",
        "status": "pending",
        "requested_by": "x",
        "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "decided_by": None,
        "decided_at": None,
    }
    place = {
        "province_id": ids["province"],
        "name": "Forged Hall",
        "address": None,
        "latitude": None,
        "longitude": None,
    }
    return {
        "role change of a head-office account": [
            thief.update("user", ids["nurse"], role="administrator")
        ],
        "password of a head-office account": [
            thief.update("user", ids["admin"], password_hash=patient["first_name"])
        ],
        "another vehicle's patient, updated": [
            thief.update("patient", patient_id, last_name="Forged", medical_history="x")
        ],
        "another vehicle's patient, deleted": [thief.delete("patient", patient_id)],
        "reference data inserted": [
            thief.insert("location", place),
            thief.insert("province", {"code": "ZZ", "name": "Forged"}),
        ],
        "reference data updated": [
            thief.update("tariff", ids["tariff"], amount="1.00"),
            thief.update("item", ids["item"], name="Renamed"),
        ],
        "reference data deleted": [
            thief.delete("location", ids["location"]),
            thief.delete("tariff", ids["tariff"]),
        ],
        "an assignment to itself": [
            thief.insert(
                "user_vehicle", {"user_id": ids["admin"], "vehicle_id": thief.laptop.vehicle_id}
            )
        ],
        "another vehicle's assignment, deleted": [thief.delete("user_vehicle", assignment["id"])],
        "a version from the far future": [
            thief.insert("supply_request", request, version=far_future)
        ],
        "another device's name in the version": [
            thief.insert("supply_request", request, version=other_device.tick())
        ],
        "the hub's name in the version": [
            thief.insert("supply_request", request, version=HybridLogicalClock("hub").tick())
        ],
    }


def test_a_stolen_laptop_changes_nothing_it_does_not_own(
    fleet: tuple[Laptop, Laptop], hub_process: HubProcess, hub_engine: Engine
) -> None:
    a, b = fleet
    register_on(b, "Nomvuyo")
    ids = head_office_world(hub_engine, a, b)
    edge_sync.run(b.engine, b.config)  # B's crew and patient now at the hub, and on B
    edge_sync.run(a.engine, a.config)  # A's own subscriptions settled before the attack
    b_before = {name: table_rows(b.engine, name) for name in ("patient", "user", "location")}
    floor = "SELECT hlc_floor FROM sync_node"
    with hub_engine.connect() as connection:
        hub_floor = connection.execute(text(floor)).scalar()
    thief = Thief(hub_process, hub_engine, a)
    for attempt, changes in forgeries(thief, ids, b).items():
        before = digest(hub_engine, ignore=BOOKKEEPING)
        held = thief.send(*changes)
        assert len(held) == len(changes), f"{attempt}: {held}"
        assert all(reason for _, reason in held), attempt
        assert moved(before, digest(hub_engine, ignore=BOOKKEEPING)) == [], attempt
    with hub_engine.connect() as connection:
        assert connection.execute(text(floor)).scalar() == hub_floor  # the fleet's clock
    # the laptop's own sync gets nothing of B's either
    edge_sync.run(a.engine, a.config)
    assert table_rows(a.engine, "patient") == []
    # B's laptop is untouched, and B's honest work still syncs
    register_on(b, "Thandi")
    result = edge_sync.run(b.engine, b.config)
    assert result.pushed > 0 and result.quarantined == 0
    after = {name: table_rows(b.engine, name) for name in ("patient", "user", "location")}
    assert after["user"] == b_before["user"] and after["location"] == b_before["location"]
    assert sorted(p["first_name"] for p in after["patient"]) == ["Nomvuyo", "Thandi"]
    [own] = b_before["patient"]
    assert own in after["patient"]  # as it was, field for field
    assert count(hub_engine, "SELECT count(*) FROM patient WHERE last_name = 'Forged'") == 0


def register_on(laptop: Laptop, first_name: str) -> None:
    with new_session(laptop.engine) as session, session.begin():
        rows.patient(session, first_name=first_name, registered_vehicle_id=laptop.vehicle_id)


def test_a_poisoned_clock_never_reaches_the_fleet(
    fleet: tuple[Laptop, Laptop], hub_process: HubProcess, hub_engine: Engine
) -> None:
    """Finding 3: a version near the end of time once raised the hub's clock floor, and
    every later hub version grew a 17th digit that every other laptop refused. Now it
    waits in quarantine, a malformed version is refused whole, and B still syncs."""
    a, b = fleet
    thief = Thief(hub_process, hub_engine, a)
    request = {
        "vehicle_id": a.vehicle_id,
        "priority": "normal",
        "reason": "x",
        "status": "pending",
        "requested_by": "x",
        "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    poisoned = thief.insert("supply_request", request, version=f"fffffffffffffffe@{a.device_id}")
    [(_, reason)] = thief.send(poisoned)
    assert reason == "dated more than 24 h ahead of head office's clock"
    malformed = thief.insert("supply_request", request, version="1" * 17 + f"@{a.device_id}")
    before = digest(hub_engine, ignore=BOOKKEEPING)
    with pytest.raises(HubRefused) as refused:
        thief.send(malformed)
    assert refused.value.status == 400 and "bad version" in str(refused.value)
    assert moved(before, digest(hub_engine, ignore=BOOKKEEPING)) == []
    with new_session(hub_engine) as session, session.begin():  # head office writes on
        rows.province(session, code="FS")
    register_on(b, "Lindiwe")
    result = edge_sync.run(b.engine, b.config)
    assert result.quarantined == 0 and count(b.engine, "SELECT count(*) FROM province") == 1
    hub_versions = "SELECT version FROM sync_change WHERE node = 'hub'"
    with hub_engine.connect() as connection:
        versions = list(connection.scalars(text(hub_versions)))
    assert versions and all(len(v.partition("@")[0]) == 16 for v in versions)
    assert all(v < "1" for v in versions)  # dated now, not at the end of time


def test_a_laptops_new_administrator_never_opens_head_office(
    fleet: tuple[Laptop, Laptop], hub_process: HubProcess, hub_engine: Engine
) -> None:
    """Finding 1: `clinic-edge create-admin` on the laptop, then a sync. The account
    reaches head office as the laptop's emergency account: head office is alerted, it
    cannot log in at the hub, and no other vehicle receives it."""
    a, b = fleet
    with new_session(a.engine) as session, session.begin():
        create_user(
            session,
            username="thief.admin",
            full_name="Not Head Office",
            role="administrator",
            password=PASSWORD,
        )
    assert edge_sync.run(a.engine, a.config).quarantined == 0
    login = requests.post(
        hub_process.base + "/api/auth/login",
        json={"username": "thief.admin", "password": PASSWORD},
        timeout=10,
    )
    assert login.status_code == 403
    assert "emergency account" in login.json()["error"]
    [alert] = table_rows(hub_engine, "alert")
    assert alert["kind"] == "emergency_account" and alert["vehicle_id"] == a.vehicle_id
    edge_sync.run(b.engine, b.config)
    users = {u["username"] for u in table_rows(b.engine, "user")}
    assert "thief.admin" not in users
