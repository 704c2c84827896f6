"""A hub holding two vehicles' work, for the head-office scope tests: vehicle A (the
caller's own) and vehicle B (another), each with one record of every kind a hub route
names, and reference data shared by the fleet.

`Side.fresh(kind)` makes a new record of a kind in a given state (a pending supply
request, an active alert, ...), so a route that changes its record can be called by
every role, each on a record of its own. Names and ids of B's records are what no
response to a caller who sees only A may show.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from common.database import new_session
from common.stops import add_stops
from common.users import create_user
from hub.invite.service import digest
from schema.base import new_id, utcnow
from schema.models import (
    Claim,
    Delivery,
    DeliveryLine,
    Invite,
    Item,
    Location,
    PatientDuplicate,
    Route,
    SyncConflict,
    SyncQuarantine,
    Tariff,
)
from tests.hub import fleet_rows
from tests.support import rows
from tests.support.claims import synced_claim
from tests.support.identity import make_vehicle
from tests.support.operations import make_item, make_location

SHARED = ("item", "tariff", "location", "province")  # the fleet's reference data
TOMORROW = utcnow().date() + dt.timedelta(days=1)
_numbers = itertools.count(1)


@dataclass
class Side:
    """One vehicle's records: `ids[kind]` and the texts (names) that identify them."""

    engine: Engine
    vehicle_id: str
    tag: str
    shared: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    texts: set[str] = field(default_factory=set)

    def fresh(self, kind: str, state: str | None = None) -> dict[str, str]:
        """A new record of `kind` on this vehicle (in `state` where a kind has several);
        returns the ids it made, by kind (a duplicate pair also makes its two patients)."""
        kind = MADE_WITH.get(kind, kind)
        if kind in SHARED:
            return {kind: self.shared[kind]}
        if kind == "vehicle":
            return {"vehicle": self.vehicle_id}
        if kind == "claim":  # made as a vehicle's sync delivers it, in its own transaction
            return self._claim(state)
        with new_session(self.engine) as session, session.begin():
            made = BUILDERS[kind](session, self, state)
        self.texts |= set(made.values())
        return made

    def _claim(self, state: str | None) -> dict[str, str]:
        claim_id = synced_claim(self.engine, self.vehicle_id, status=state or "needs_attention")
        with new_session(self.engine) as session:
            claim = session.get_one(Claim, claim_id)
        self.texts |= {claim_id, claim.visit_id, claim.patient_id}
        return {"claim": claim_id, "visit": claim.visit_id, "visit_patient": claim.patient_id}


def build(engine: Engine) -> tuple[Side, Side]:
    """Vehicles A and B, each with a record of every kind, and shared reference data."""
    shared = _reference(engine)
    sides = []
    for tag in ("Alpha", "Bravo"):
        name = f"Clinic {tag} {secrets.token_hex(2)}"
        side = Side(engine, make_vehicle(engine, name=name), tag, shared)
        side.texts |= {name, side.vehicle_id}
        for kind in ("claim", *BUILDERS):
            side.ids.update(side.fresh(kind))
        side.ids |= {"vehicle": side.vehicle_id, "vehicle_name": name}
        side.ids.update(shared)
        sides.append(side)
    return sides[0], sides[1]


def _reference(engine: Engine) -> dict[str, str]:
    location = make_location(engine, f"Stop {secrets.token_hex(3)}")
    item = make_item(engine, "Amoxicillin 500mg", reorder_level=10)
    with new_session(engine) as session, session.begin():
        tariff = Tariff(code="0190", description="Consultation", kind="consultation")
        tariff.amount, tariff.active = Decimal("520.00"), True
        session.add(tariff)
        session.flush()
        province = session.scalar(select(Location.province_id).where(Location.id == location))
    assert province is not None
    return {"item": item, "tariff": tariff.id, "location": location, "province": province}


def _alert(session: Session, side: Side, state: str | None) -> dict[str, str]:
    row = fleet_rows.alert(session, side.vehicle_id, kind="low_stock", status=state or "active")
    return {"alert": row.id}


def _supply_request(session: Session, side: Side, state: str | None) -> dict[str, str]:
    item = session.get_one(Item, side.shared["item"])
    row = fleet_rows.supply_request(session, side.vehicle_id, item, 20)
    row.status = state or "pending"
    return {"supply_request": row.id}


def _delivery(session: Session, side: Side, state: str | None) -> dict[str, str]:
    row = Delivery(
        vehicle_id=side.vehicle_id,
        status=state or "pending",
        created_by=fleet_rows.ACTOR,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    session.add(
        DeliveryLine(
            delivery_id=row.id,
            vehicle_id=side.vehicle_id,
            item_id=side.shared["item"],
            batch_number=f"B{next(_numbers)}",
            expiry_date=TOMORROW + dt.timedelta(days=365),
            quantity=10,
        )
    )
    return {"delivery": row.id}


def _route(session: Session, side: Side, state: str | None) -> dict[str, str]:
    name = f"Route {side.tag} {next(_numbers)}"
    route = Route(
        vehicle_id=side.vehicle_id,
        route_date=TOMORROW,
        name=name,
        status=state or "planned",
        created_by=fleet_rows.ACTOR,
        created_at=utcnow(),
    )
    session.add(route)
    session.flush()
    arrival = dt.datetime.combine(TOMORROW, dt.time(8), dt.UTC)
    stop = {
        "location_id": side.shared["location"],
        "arrival_at": arrival,
        "departure_at": arrival + dt.timedelta(hours=1),
        "slot_minutes": 30,
        "slot_capacity": 2,
    }
    add_stops(session, route, [stop])
    side.texts |= {name}
    return {"route": route.id, "route_name": name}


def _device(session: Session, side: Side, state: str | None) -> dict[str, str]:
    device = fleet_rows.synced_device(session, side.vehicle_id, utcnow())
    device.status = state or "active"
    quarantined = SyncQuarantine(
        id=new_id(),
        peer=device.id,
        table_name="visit",
        row_id=new_id(),
        change="{}",
        reason="Not this device's vehicle",
        at=utcnow(),
    )
    session.add(quarantined)
    side.texts |= {device.id}
    return {"device": device.id, "quarantine": quarantined.id}


def _patient(session: Session, side: Side, first_name: str) -> str:
    patient = rows.patient(
        session, first_name=first_name, last_name=side.tag, registered_vehicle_id=side.vehicle_id
    )
    side.texts |= {patient.id, f"{first_name} {side.tag}"}
    return patient.id


def _conflict(session: Session, side: Side, state: str | None) -> dict[str, str]:
    patient = _patient(session, side, f"Conflicted{next(_numbers)}")
    conflict = SyncConflict(
        id=new_id(),
        table_name="patient",
        row_id=patient,
        column_name="allergies",
        local_value='["sulfa"]',
        remote_value='["penicillin"]',
        merged_value='["sulfa", "penicillin"]',
        local_version="0" * 16 + "@hub",
        remote_version="1" * 16 + "@d0000000000b1",
        resolution="union",
        status=state or "open",
        created_at=utcnow(),
    )
    session.add(conflict)
    return {"conflict": conflict.id}


def _pair(session: Session, side: Side, state: str | None) -> dict[str, str]:
    number = next(_numbers)
    a, b = _patient(session, side, f"Twin{number}"), _patient(session, side, f"Twinn{number}")
    pair = PatientDuplicate(
        id=new_id(),
        patient_a_id=a,
        patient_b_id=b,
        reason="name_and_birth",
        status=state or "open",
        detected_at=utcnow(),
    )
    session.add(pair)
    return {"pair": pair.id, "patient": a, "twin": b}


def _user(session: Session, side: Side, state: str | None) -> dict[str, str]:
    user = create_user(
        session,
        username=f"crew-{side.tag.lower()}-{next(_numbers)}",
        full_name=f"Crew {side.tag}",
        role="nurse",
        password="Correct-Horse-9",
        vehicle_ids=[side.vehicle_id],
    )
    side.texts |= {user.id}
    return {"user": user.id}


def _invite(session: Session, side: Side, state: str | None) -> dict[str, str]:
    user_id = _user(session, side, None)["user"]
    now = utcnow()
    invite = Invite(
        id=new_id(),
        token_hash=digest(secrets.token_urlsafe(32)),
        user_id=user_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=7),
    )
    session.add(invite)
    return {"invite": invite.id}


def _stock(session: Session, side: Side, state: str | None) -> dict[str, str]:
    """Stock held and dispensed on the vehicle (the fleet stock and usage report)."""
    item = session.get_one(Item, side.shared["item"])
    expiry = TOMORROW + dt.timedelta(days=200)
    lot = fleet_rows.stock(session, side.vehicle_id, item, 40, expiry, batch=side.tag)
    fleet_rows.stock(session, side.vehicle_id, item, -5, expiry, "dispense", batch=side.tag)
    return {"lot": lot.id}


Builder = Callable[[Session, Side, str | None], dict[str, str]]

BUILDERS: dict[str, Builder] = {
    "alert": _alert,
    "supply_request": _supply_request,
    "delivery": _delivery,
    "route": _route,
    "device": _device,
    "conflict": _conflict,
    "pair": _pair,
    "user": _user,
    "invite": _invite,
    "stock": _stock,
}
# Kinds made with another kind: a pair's two patients, a device's quarantined change,
# a claim's visit and patient.
MADE_WITH = {
    "patient": "pair",
    "twin": "pair",
    "quarantine": "device",
    "visit": "claim",
    "visit_patient": "claim",
}
