"""An edge database holding a clinic day of its own vehicle and the same day of another.

The edge's own rows are made through its API, as the crew makes them. The other
vehicle's rows are copies of every vehicle-scoped row with new ids, the other vehicle's
id and versions from the hub: what sync or a restored backup could leave on a laptop
(its patient registered on the other vehicle under a name no response may show, and one
of its visits with this vehicle's own patient).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Table, UniqueConstraint, insert, select

import schema
from common.node import HUB_NODE_ID
from schema.base import new_id
from sync.clock import HybridLogicalClock
from sync.policy import Scope
from tests.edge.test_claims import close_with_medicine
from tests.edge.test_supply import arrive_by_sync, request_items
from tests.support.clinic import Clinic, patient_fields, sa_id
from tests.support.identity import make_staff, make_vehicle
from tests.support.operations import day_plan, make_location, plan_route

OTHER_NAME = "Nomvuyo Otherclinic"  # the other vehicle's patient: never in a response


@dataclass
class World:
    """Ids of one row per table for this vehicle (`own`) and the other (`other`)."""

    own: dict[str, str] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)
    other_ids: set[str] = field(default_factory=set)  # every copied row's id
    other_secrets: tuple[str, ...] = ()


def build(clinic: Clinic) -> World:
    """A full clinic day on this vehicle, then its copy on another vehicle."""
    _clinic_day(clinic)
    other_vehicle = make_vehicle(clinic.engine, name="Other clinic")
    world = World()
    world.own = _first_rows(clinic.engine, clinic.vehicle_id)
    world.own["vehicle"] = clinic.vehicle_id
    world.own["user"] = clinic.staff("viewer").id
    _copy(clinic.engine, clinic.vehicle_id, other_vehicle, world)
    stranger = make_staff(
        clinic.app, clinic.engine, "nurse", vehicle_ids=[other_vehicle], made_on=HUB_NODE_ID
    )
    world.other["vehicle"] = other_vehicle
    world.other["user"] = stranger.id
    world.other_ids |= {stranger.id}
    return world


def _clinic_day(clinic: Clinic) -> None:
    admin = clinic.staff("administrator")
    patient = clinic.register(first_name="Lerato", medical_aid_number="110234561")
    close_with_medicine(clinic, patient)
    second = clinic.visit_at("nursing_assessment")
    clinic.ok("POST", "nurse", "/api/vital-signs", {"visit_id": second, "pulse": 190})
    clinic.ok("POST", "nurse", "/api/clinical-notes", {"visit_id": second, "body": "Calm"})
    consult = clinic.visit_at("doctor_consultation")
    referral = {"kind": "external", "facility": "Mankweng", "reason": "X-ray", "urgency": "routine"}
    clinic.ok("POST", "doctor", "/api/referrals", {**referral, "visit_id": consult})
    plan = day_plan(make_location(clinic.engine))
    route_id = plan_route(clinic.engine, clinic.vehicle_id, plan)
    route = clinic.ok("GET", "administrator", f"/api/routes/{route_id}")
    slot = route["stops"][0]["slots"][0]["id"]
    clinic.ok("POST", "clerk", "/api/appointments", {"slot_id": slot, "patient_id": patient["id"]})
    asset = {"name": "Defibrillator", "serial_number": "DF-001", "category": "emergency"}
    asset_id = clinic.ok("POST", "inventory_manager", "/api/assets", asset)["id"]
    maintenance = {"kind": "service", "notes": "pads replaced"}
    clinic.ok("POST", "inventory_manager", f"/api/assets/{asset_id}/maintenance", maintenance)
    requested = request_items(clinic.client, admin, clinic.stock["paracetamol"])
    request_id = requested.get_json()["data"]["id"]
    arrive_by_sync(clinic.engine, clinic.vehicle_id, request_id, clinic.stock["paracetamol"])


def _vehicle_tables() -> list[Table]:
    """Vehicle-scoped synced tables in foreign-key order (user links excepted: the other
    vehicle's crew is made apart)."""
    synced = schema.synced_tables()
    return [
        table
        for table in schema.metadata.sorted_tables
        if table.name in synced
        and table.info["sync"].scope is Scope.VEHICLE
        and "vehicle_id" in table.c
        and table.name != "user_vehicle"
    ]


def _unique_texts(table: Table) -> set[str]:
    """Columns whose values must differ between the copies (a serial number, a key)."""
    names = {column.name for column in table.c if column.unique}
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            names |= {column.name for column in constraint.columns}
    for index in table.indexes:
        if index.unique:
            names |= {column.name for column in index.columns}
    keys = {column.name for column in table.c if column.foreign_keys}
    return names - keys - {"id", "version", "origin_node"}


def _first_rows(engine: Engine, vehicle_id: str) -> dict[str, str]:
    found: dict[str, str] = {}
    with engine.connect() as connection:
        for table in _vehicle_tables():
            query = select(table.c.id).where(table.c.vehicle_id == vehicle_id).order_by(table.c.id)
            row_id = connection.scalar(query.limit(1))
            if row_id is not None:
                found[table.name] = row_id
        patient = schema.metadata.tables["patient"]
        query = select(patient.c.id).where(patient.c.registered_vehicle_id == vehicle_id)
        found["patient"] = connection.scalar(query.order_by(patient.c.id).limit(1))
    return found


def _copy(engine: Engine, vehicle_id: str, other_vehicle: str, world: World) -> None:
    clock = HybridLogicalClock("hub")
    patient = schema.metadata.tables["patient"]
    id_number = sa_id()
    with engine.begin() as connection:
        own_patients = connection.execute(
            select(patient).where(patient.c.registered_vehicle_id == vehicle_id)
        ).mappings()
        renamed: dict[str, str] = {}
        for row in own_patients:
            renamed[row["id"]] = new_id()
            values = {
                **row,
                **patient_fields(first_name=OTHER_NAME.split()[0], last_name="Otherclinic"),
                "id": renamed[row["id"]],
                "id_number": id_number,
                "registered_vehicle_id": other_vehicle,
                "version": clock.tick(),
                "origin_node": "hub",
            }
            values = {k: v for k, v in values.items() if k in patient.c}
            values["allergies"] = row["allergies"]
            connection.execute(insert(patient).values(values))
        world.other["patient"] = next(iter(renamed.values()))
        world.other_secrets = (OTHER_NAME.split()[0], id_number)
        for table in _vehicle_tables():
            rows = connection.execute(select(table).where(table.c.vehicle_id == vehicle_id))
            for row in rows.mappings().all():
                renamed[row["id"]] = new_id()
                values = {
                    name: renamed.get(value, value) if isinstance(value, str) else value
                    for name, value in row.items()
                }
                for name in _unique_texts(table):
                    if isinstance(values[name], str) and values[name] not in renamed.values():
                        values[name] += "-other"
                values.update(vehicle_id=other_vehicle, version=clock.tick(), origin_node="hub")
                connection.execute(insert(table).values(values))
                world.other.setdefault(table.name, renamed[row["id"]])
        world.other_ids |= set(renamed.values())
        _own_patient_seen_elsewhere(connection, world, renamed, clock)


def _own_patient_seen_elsewhere(
    connection: Any, world: World, renamed: dict[str, str], clock: HybridLogicalClock
) -> None:
    """One more copy of a visit, but of this vehicle's own patient: the other vehicle saw
    them too. Its record is the other vehicle's, not this one's."""
    visit = schema.metadata.tables["visit"]
    row = connection.execute(select(visit).where(visit.c.id == world.other["visit"])).mappings()
    values = dict(row.one())
    own_patient = next(k for k, v in renamed.items() if v == values["patient_id"])
    values.update(id=new_id(), patient_id=own_patient, version=clock.tick())
    connection.execute(insert(visit).values(values))
    world.other["visit_of_own_patient"] = values["id"]
    world.other_ids.add(values["id"])
