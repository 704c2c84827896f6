"""Emergency accounts made on a vehicle's laptop (`clinic-edge create-admin`), as head
office learns of them: each one that arrives raises an alert for its vehicle, so head
office sees that the break-glass was used. The account itself never signs in at the hub
(`common.auth.service.refusal`); its uses arrive in the vehicle's audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from common.node import HUB_NODE_ID
from schema.base import utcnow
from schema.models import Alert, Device, User
from sync.change import FULL_OPS, Change

KIND = "emergency_account"


def notice(connection: Connection, changes: Sequence[Change]) -> None:
    """After a batch is applied: an alert for each emergency account it brought."""
    ids = [c.row_id for c in changes if c.table == User.__tablename__ and c.op in FULL_OPS]
    if not ids:
        return
    with Session(bind=connection) as session:
        _alert(session, ids)


def _alert(session: Session, ids: list[str]) -> None:
    made = session.execute(
        select(User, Device.vehicle_id)
        .join(Device, Device.id == User.origin_node)
        .where(User.id.in_(ids), User.origin_node != HUB_NODE_ID)
    ).all()
    for user, vehicle_id in made:
        dedupe_key = f"{KIND}:{user.id}"
        if session.scalar(select(Alert.id).where(Alert.dedupe_key == dedupe_key)) is not None:
            continue
        session.add(
            Alert(
                vehicle_id=vehicle_id,
                kind=KIND,
                priority="high",
                title=f"Emergency account {user.username} made on a laptop",
                detail=(
                    f"{user.full_name} ({user.role}) was created on device {user.origin_node}. "
                    "It signs in on that laptop only; review its use in the audit trail and "
                    "deactivate it when the emergency is over."
                ),
                resource_type="user",
                resource_id=user.id,
                dedupe_key=dedupe_key,
                status="active",
                escalation_level=0,
                created_at=utcnow(),
            )
        )
    session.flush()
