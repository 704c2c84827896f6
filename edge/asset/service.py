"""Equipment on the vehicle, its maintenance schedule and log, and the suppliers.

An asset with a maintenance interval is due again `interval` days after its last
maintenance; `scan_maintenance` (a daily job) raises one alert per asset coming due.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common import audit
from common.access import Actor
from common.database import committed
from common.errors import Conflict, NotFound
from edge.alert.service import raise_alert
from edge.scope import owned, page_of, vehicle_of
from schema.base import utcnow
from schema.models import Alert, Asset, MaintenanceRecord, Supplier
from schema.rowid import named_id

STATUSES = ("in_service", "needs_repair", "retired")
MAINTENANCE_KINDS = ("service", "inspection", "calibration", "repair")
DUE_WITHIN_DAYS = 7


def add_asset(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    vehicle_id = vehicle_of(actor)
    taken = select(Asset.id).filter_by(vehicle_id=vehicle_id, serial_number=data["serial_number"])
    if session.scalar(taken):
        raise Conflict(f"An asset with serial number {data['serial_number']} already exists")
    _check_supplier(session, data.get("supplier_id"))
    asset = Asset(
        id=named_id("asset", vehicle_id, data["serial_number"]),
        vehicle_id=vehicle_id,
        created_at=utcnow(),
        **data,
    )
    interval = data.get("maintenance_interval_days")
    if interval and asset.next_maintenance_due is None:
        asset.next_maintenance_due = (data.get("acquired_on") or dt.date.today()) + dt.timedelta(
            days=interval
        )
    session.add(asset)
    session.flush()
    return _saved(session, actor, "asset_created", asset)


def list_assets(
    session: Session, actor: Actor, wanted: Mapping[str, Any], page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(Asset).where(Asset.vehicle_id == vehicle_of(actor))
    for name in ("status", "category"):
        if wanted.get(name):
            query = query.where(getattr(Asset, name) == wanted[name])
    if wanted.get("due_only"):
        query = query.where(Asset.next_maintenance_due <= _due_horizon(dt.date.today()))
    rows, total = page_of(session, query.order_by(Asset.name, Asset.serial_number), page, per_page)
    return [view(asset) for asset in rows], total


def get_asset(session: Session, actor: Actor, asset_id: str) -> dict[str, Any]:
    asset = owned(session, Asset, asset_id, vehicle_of(actor), "Asset")
    return view(asset, log=_log(session, asset.id))


def set_status(session: Session, actor: Actor, asset_id: str, status: str) -> dict[str, Any]:
    asset = owned(session, Asset, asset_id, vehicle_of(actor), "Asset")
    if asset.status == "retired":
        raise Conflict("A retired asset stays retired")
    asset.status = status
    return _saved(session, actor, "asset_status_changed", asset)


def log_maintenance(
    session: Session, actor: Actor, asset_id: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """Record maintenance done: the next due date moves on and its due alert is resolved."""
    asset = owned(session, Asset, asset_id, vehicle_of(actor), "Asset")
    if asset.status == "retired":
        raise Conflict("A retired asset is not maintained")
    performed_at = data.get("performed_at") or utcnow()
    if performed_at > utcnow() + dt.timedelta(minutes=5):
        raise Conflict("Maintenance cannot be recorded in the future")
    session.add(
        MaintenanceRecord(
            asset_id=asset.id,
            vehicle_id=asset.vehicle_id,
            kind=data["kind"],
            notes=data.get("notes"),
            performed_by=actor.user_id,
            performed_at=performed_at,
        )
    )
    if asset.maintenance_interval_days:
        asset.next_maintenance_due = performed_at.date() + dt.timedelta(
            days=asset.maintenance_interval_days
        )
    if data["kind"] == "repair" and asset.status == "needs_repair":
        asset.status = "in_service"
    _resolve_due_alert(session, actor, asset)
    session.flush()
    return _saved(session, actor, "asset_maintained", asset)


def scan_maintenance(session: Session, vehicle_id: str, today: dt.date) -> int:
    """Raise a maintenance-due alert for each working asset due within a week (high when
    overdue). Joins the caller's transaction; returns how many assets are due."""
    due = session.scalars(
        select(Asset).where(
            Asset.vehicle_id == vehicle_id,
            Asset.status != "retired",
            Asset.next_maintenance_due <= _due_horizon(today),
        )
    ).all()
    for asset in due:
        when = asset.next_maintenance_due or today
        overdue = when < today
        raise_alert(
            session,
            vehicle_id=vehicle_id,
            kind="maintenance_due",
            priority="high" if overdue else "medium",
            title=f"Maintenance {'overdue' if overdue else 'due'}: {asset.name} "
            f"({asset.serial_number}) on {when.isoformat()}",
            resource_type="asset",
            resource_id=asset.id,
            dedupe_key=f"maintenance:{asset.id}",
        )
    return len(due)


def list_suppliers(session: Session, page: int, per_page: int) -> tuple[list[dict[str, Any]], int]:
    rows, total = page_of(session, select(Supplier).order_by(Supplier.name), page, per_page)
    return [supplier_view(s) for s in rows], total


def add_supplier(session: Session, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
    if session.scalar(select(Supplier.id).filter_by(name=data["name"])):
        raise Conflict(f"Supplier {data['name']} already exists")
    supplier = Supplier(id=named_id("supplier", data["name"]), **data)
    session.add(supplier)
    session.flush()
    audit.record(
        session, actor, "supplier_created", resource_type="supplier", resource_id=supplier.id
    )
    session.commit()
    return supplier_view(supplier)


def view(asset: Asset, log: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    result = {
        name: getattr(asset, name)
        for name in (
            "id",
            "vehicle_id",
            "supplier_id",
            "name",
            "serial_number",
            "category",
            "status",
            "acquired_on",
            "maintenance_interval_days",
            "next_maintenance_due",
            "created_at",
        )
    }
    due = asset.next_maintenance_due
    result["maintenance_due"] = due is not None and due <= _due_horizon(dt.date.today())
    if log is not None:
        result["maintenance_log"] = log
    return result


def supplier_view(supplier: Supplier) -> dict[str, Any]:
    return {n: getattr(supplier, n) for n in ("id", "name", "contact_name", "phone", "email")}


def _log(session: Session, asset_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(MaintenanceRecord)
        .where(MaintenanceRecord.asset_id == asset_id)
        .order_by(MaintenanceRecord.performed_at.desc())
    )
    return [
        {n: getattr(r, n) for n in ("id", "kind", "notes", "performed_by", "performed_at")}
        for r in rows
    ]


def _resolve_due_alert(session: Session, actor: Actor, asset: Asset) -> None:
    alert = session.scalar(
        select(Alert).where(
            Alert.vehicle_id == asset.vehicle_id,
            Alert.dedupe_key == f"maintenance:{asset.id}",
            Alert.status != "resolved",
        )
    )
    if alert is not None:
        now = utcnow()
        alert.status, alert.resolved_by, alert.resolved_at = "resolved", actor.user_id, now


def _check_supplier(session: Session, supplier_id: str | None) -> None:
    if supplier_id and session.get(Supplier, supplier_id) is None:
        raise NotFound(f"Supplier {supplier_id} not found")


def _due_horizon(today: dt.date) -> dt.date:
    return today + dt.timedelta(days=DUE_WITHIN_DAYS)


def _saved(session: Session, actor: Actor, action: str, asset: Asset) -> dict[str, Any]:
    audit.record(session, actor, action, resource_type="asset", resource_id=asset.id)
    return committed(session, view(asset, log=_log(session, asset.id)))
