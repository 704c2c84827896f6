"""Claims as a vehicle's sync delivers them to the hub: a patient, a closed visit, the
claim and its lines, written straight into the hub database with the vehicle's node as
their origin (what the sync applier will do)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from common.database import new_session
from schema.base import utcnow
from schema.models import Claim, ClaimAttempt, ClaimLine, Visit
from schema.models.claim import DEVICE_STATES
from tests.support import rows
from tests.support.palmed import PRACTICE_NUMBER, Sandbox

T = TypeVar("T")
VEHICLE_NODE = "dtest00000001"
Line = tuple[str, str, int, str]
GOOD_LINES: tuple[Line, ...] = (("tariff", "0190", 1, "520.00"), ("nappi", "7010017", 20, "7.00"))


def synced_claim(
    engine: Engine,
    vehicle_id: str,
    *,
    member_number: str | None = "110234561",
    dependant_code: str | None = "00",
    service_date: dt.date | None = None,
    icd10_codes: Sequence[str] = ("J06.9",),
    lines: Sequence[Line] = GOOD_LINES,
    status: str = "queued",
    **extra: Any,
) -> str:
    """A claim a vehicle made at visit closure, as the hub holds it after a sync."""
    day = service_date or dt.date.today() - dt.timedelta(days=1)
    now = utcnow()
    with new_session(engine) as session, session.begin():
        patient = rows.patient(
            session,
            origin_node=VEHICLE_NODE,
            medical_aid_number=member_number,
            dependant_code=dependant_code,
        )
        visit = Visit(
            origin_node=VEHICLE_NODE,
            patient_id=patient.id,
            vehicle_id=vehicle_id,
            visit_date=day,
            stage="closure",
            status="closed",
            opened_by="u-clerk",
            opened_at=now,
        )
        session.add(visit)
        session.flush()
        return _claim(
            session,
            lines,
            visit_id=visit.id,
            patient_id=patient.id,
            vehicle_id=vehicle_id,
            member_number=member_number,
            dependant_code=dependant_code,
            practice_number=extra.pop("practice_number", PRACTICE_NUMBER),
            service_date=day,
            icd10_codes=list(icd10_codes),
            status=status,
            **extra,
        )


def _claim(session: Session, lines: Sequence[Line], **values: Any) -> str:
    """A claim made on the vehicle's node, with its lines; its id."""
    now = utcnow()
    values.setdefault("total_amount", sum(Decimal(line[3]) for line in lines))
    claim = Claim(
        origin_node=VEHICLE_NODE,
        problems=[],
        rejection_codes=[],
        created_by="u-doctor",
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(claim)
    session.flush()
    _add_lines(session, claim, lines)
    return claim.id


def _add_lines(session: Session, claim: Claim, lines: Sequence[Line]) -> None:
    for kind, code, quantity, amount in lines:
        session.add(
            ClaimLine(
                origin_node=VEHICLE_NODE,
                claim_id=claim.id,
                vehicle_id=claim.vehicle_id,
                kind=kind,
                code=code,
                description=f"{kind} {code}",
                quantity=quantity,
                unit_price=Decimal(amount) / max(quantity, 1),
                amount=Decimal(amount),
            )
        )


def correction(
    engine: Engine,
    claim_id: str,
    *,
    status: str = "ready",
    lines: Sequence[Line] = GOOD_LINES,
    withdrawn: bool = True,
) -> str:
    """The claim a vehicle drafts when it closes a reopened visit again, superseding
    `claim_id`, as the hub holds it after the sync that brought it (with the vehicle's
    withdrawal of the earlier claim, unless `withdrawn` is False or the hub refused it)."""
    with new_session(engine) as session, session.begin():
        earlier = session.get_one(Claim, claim_id)
        if withdrawn and earlier.status in DEVICE_STATES:
            earlier.status = "withdrawn"
            earlier.withdrawal_reason = "lab result came"
        same = ("visit_id", "patient_id", "vehicle_id", "member_number", "dependant_code")
        return _claim(
            session,
            lines,
            supersedes_id=earlier.id,
            practice_number=earlier.practice_number,
            service_date=earlier.service_date,
            icd10_codes=list(earlier.icd10_codes),
            status=status,
            **{name: getattr(earlier, name) for name in same},
        )


def soon(seconds: float, take: Callable[[], T | None]) -> T:
    """What `take` gives as soon as it gives something; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = take()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"nothing within {seconds} s")


def claim_row(engine: Engine, claim_id: str) -> Claim:
    with new_session(engine) as session:
        claim = session.get(Claim, claim_id)
        assert claim is not None
        return claim


def attempts(engine: Engine, claim_id: str) -> list[ClaimAttempt]:
    """Every call the hub made for a claim, oldest first."""
    with new_session(engine) as session:
        query = select(ClaimAttempt).where(ClaimAttempt.claim_id == claim_id)
        return list(session.scalars(query.order_by(ClaimAttempt.at, ClaimAttempt.id)))


def clinic_hub(*args: str) -> list[str]:
    """A `clinic-hub` command line from this virtualenv."""
    return [str(Path(sys.executable).with_name("clinic-hub")), *args]


def hub_env(url: str, sandbox: Sandbox, **env: str) -> dict[str, str]:
    """The hub's settings for a command talking to this database and the sandbox."""
    from tests.support.hubprocess import audit_key_file

    palmed = {"PALMED_API_URL": sandbox.url, "PALMED_API_KEY": sandbox.api_key}
    audit_key = {"HUB_AUDIT_KEY_FILE": str(audit_key_file())}  # the jobs audit what they do
    return {**os.environ, "HUB_DATABASE_URL": url, **palmed, **audit_key, **env}


def push_claims(url: str, sandbox: Sandbox, **env: str) -> subprocess.Popen[str]:
    """`clinic-hub push-claims` as a process of its own, against this sandbox."""
    return subprocess.Popen(  # noqa: S603  # nosec B603 - our own command
        clinic_hub("push-claims"),
        env=hub_env(url, sandbox, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
