"""Finance's use cases: find claims, see what PALMED said, correct and resubmit.

A rejected claim may be corrected and resubmitted within 60 days of the rejection (the
scheme's window); a claim held in needs_attention was never sent and may be fixed at
any time. A resubmitted claim goes back to `queued`; the pipeline gives it a new
idempotency key, since PALMED keeps the rejected claim under the old one. A claim a
vehicle's correction superseded is not resubmitted: the correction stands for the visit.
Every claim shows its chain: the claim it supersedes, the claim that superseded it, and
its reversal at PALMED. A caller sees and corrects the claims of the vehicles in their
reach (`hub.scope`); a PALMED run covers the fleet, so it is for fleet-wide roles only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session, aliased

from common import audit
from common.access import Actor
from common.errors import BadRequest, Conflict
from hub.claims import check, palmed, pipeline, state
from hub.claims.submission import claim_lines
from hub.members import eligibility
from hub.scope import Reach, owned, reach, require_fleet
from schema.base import utcnow
from schema.models import Claim, ClaimAttempt, ClaimLine, ClaimReversal

RESUBMIT_WINDOW = dt.timedelta(days=60)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ClaimFilter:
    status: str | None = None
    vehicle_id: str | None = None
    visit_id: str | None = None


_newer = aliased(Claim)


def listing(
    session: Session, actor: Actor, wanted: ClaimFilter, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of claims, most recently changed first, each with the claim that superseded
    it (if any), and how many match in all."""
    query = _filtered(reach(session, actor), wanted)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    newer = select(func.min(_newer.id)).where(_newer.supersedes_id == Claim.id)
    rows = session.execute(
        query.add_columns(newer.scalar_subquery())
        .order_by(Claim.updated_at.desc(), Claim.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    detail = {k: v for k, v in vars(wanted).items() if v is not None} | {"page": page}
    audit.record_read(session, actor, "claim", None, action="list", detail=detail)
    return [_columns(claim, superseded_by) for claim, superseded_by in rows], total


def detail(session: Session, actor: Actor, claim_id: str) -> dict[str, Any]:
    """A claim with its lines, every call made for it and the last day to resubmit it."""
    claim = _find(session, actor, claim_id)
    view = _view(session, claim)
    audit.record_read(session, actor, "claim", claim.id, patient_id=claim.patient_id)
    return view


def resubmit(
    session: Session,
    actor: Actor,
    claim_id: str,
    changes: Mapping[str, Any],
    today: dt.date,
) -> dict[str, Any]:
    """Correct a rejected (or held) claim and queue it for PALMED again."""
    claim = _find(session, actor, claim_id, lock=True)
    newer = superseded_by(session, claim.id)
    if newer is not None:
        raise Conflict(f"This claim was superseded by claim {newer}; that one stands for the visit")
    if claim.status not in state.CORRECTABLE:
        raise Conflict(
            f"Only a rejected claim or one that needs attention can be resubmitted; "
            f"this one is {claim.status}"
        )
    until = resubmit_until(session, claim)
    if until is not None and today > until:
        raise Conflict(f"The window to resubmit this claim closed on {until.isoformat()}")
    _correct(session, claim, changes)
    found = check.problems(claim, claim_lines(session, claim.id), today)
    if found:
        raise BadRequest("The corrected claim still cannot be sent", details=found)
    claim.status = state.QUEUED
    claim.problems, claim.rejection_codes = [], []
    claim.palmed_claim_id, claim.paid_amount = None, None
    claim.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "claim_resubmitted",
        resource_type="claim",
        resource_id=claim.id,
        patient_id=claim.patient_id,
        detail={"changed": sorted(changes)},
    )
    session.commit()
    return _view(session, claim)


def resubmit_until(session: Session, claim: Claim) -> dt.date | None:
    """The last day a rejected claim may be resubmitted (None: not rejected)."""
    if claim.status != state.REJECTED:
        return None
    rejected_at = session.scalar(
        select(func.max(ClaimAttempt.at)).where(
            ClaimAttempt.claim_id == claim.id, ClaimAttempt.outcome == state.REJECTED
        )
    )
    return ((rejected_at or claim.updated_at) + RESUBMIT_WINDOW).date()


def _correct(session: Session, claim: Claim, changes: Mapping[str, Any]) -> None:
    for name in ("member_number", "dependant_code", "practice_number", "icd10_codes"):
        if name in changes:
            setattr(claim, name, changes[name])
    if "lines" in changes:
        for line in claim_lines(session, claim.id):
            session.delete(line)  # through the ORM: the vehicle gets a tombstone
        for line in changes["lines"]:
            session.add(_line(claim, line))
        claim.total_amount = sum((line["amount"] for line in changes["lines"]), Decimal(0))
    session.flush()


def _line(claim: Claim, data: Mapping[str, Any]) -> ClaimLine:
    amount: Decimal = data["amount"]
    return ClaimLine(
        claim_id=claim.id,
        vehicle_id=claim.vehicle_id,
        kind=data["kind"],
        code=data["code"],
        description=data["description"] or f"{data['kind']} {data['code']}",
        quantity=data["quantity"],
        unit_price=(amount / data["quantity"]).quantize(CENT),
        amount=amount,
    )


def superseded_by(session: Session, claim_id: str) -> str | None:
    """The claim that superseded this one (a vehicle's correction), if any."""
    query = select(Claim.id).where(Claim.supersedes_id == claim_id).order_by(Claim.created_at)
    return session.scalars(query.limit(1)).first()


def _columns(claim: Claim, superseded: str | None) -> dict[str, Any]:
    values = {column.key: getattr(claim, column.key) for column in Claim.__table__.columns}
    return values | {"superseded_by_id": superseded}


def _view(session: Session, claim: Claim) -> dict[str, Any]:
    attempts = session.scalars(
        select(ClaimAttempt)
        .where(ClaimAttempt.claim_id == claim.id)
        .order_by(ClaimAttempt.at, ClaimAttempt.id)
    ).all()
    return {
        **_columns(claim, superseded_by(session, claim.id)),
        "lines": claim_lines(session, claim.id),
        "attempts": list(attempts),
        "reversal": session.get(ClaimReversal, claim.id),
        "resubmit_until": resubmit_until(session, claim),
    }


def _find(session: Session, actor: Actor, claim_id: str, lock: bool = False) -> Claim:
    return owned(session, Claim, claim_id, reach(session, actor), "claim", lock=lock)


def _filtered(within: Reach, wanted: ClaimFilter) -> Select[Any]:
    query = within.narrowed(wanted.vehicle_id).where(select(Claim), Claim.vehicle_id)
    if wanted.status:
        query = query.where(Claim.status == wanted.status)
    if wanted.visit_id:
        query = query.where(Claim.visit_id == wanted.visit_id)
    return query


def client_for(config: Mapping[str, Any]) -> palmed.PalmedClient:
    """The PALMED client of this hub's settings; a clear refusal when they are missing."""
    try:
        return palmed.PalmedClient.from_config(config)
    except ValueError as error:
        raise Conflict(f"PALMED is not configured on this hub: {error}") from None


def synchronise(
    session: Session,
    actor: Actor,
    engine: Engine,
    client: palmed.PalmedClient,
    today: dt.date,
) -> dict[str, Any]:
    """One run now: claims to PALMED and payments back, then member statuses (the whole
    fleet's, so a vehicle-scoped caller is refused)."""
    require_fleet(reach(session, actor), "A PALMED run")
    report = pipeline.run(engine, client, today=today).as_dict()
    try:
        members = eligibility.follow(engine, client, today)
        members.verified = eligibility.verify(engine, client, today)
        report["members"] = members.as_dict()
    except palmed.PalmedError as error:
        report["members"] = {"error": error.message}
    audit.record(session, actor, "palmed_sync", resource_type="claim", detail=report)
    session.commit()
    return report
