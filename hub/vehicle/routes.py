"""`/api/vehicles`: register the fleet's vehicles, list and change them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from common.access import current_actor
from common.api import created, endpoint, ok, paginated
from common.database import db
from hub.vehicle import service
from hub.vehicle.schemas import VehicleChange, VehicleIn, VehicleOut, VehicleQuery

bp = Blueprint("vehicles", __name__)


@bp.get("/api/vehicles")
@endpoint("vehicles:read", query=VehicleQuery, response=VehicleOut, many=True)
def list_vehicles(query: dict[str, Any]) -> Any:
    """The fleet's vehicles (a crew role's own) by name (status=active or inactive to
    filter)."""
    page, per_page, status = query["page"], query["per_page"], query.get("status")
    rows, total = service.list_vehicles(db.session, current_actor(), status, page, per_page)
    return paginated(VehicleOut().dump(rows, many=True), page, per_page, total)


@bp.post("/api/vehicles")
@endpoint("vehicles:write", body=VehicleIn, response=VehicleOut, status=201)
def register_vehicle(body: dict[str, Any]) -> Any:
    """Register a vehicle (name, registration plate, province, practice number)."""
    vehicle = service.register(db.session, current_actor(), body)
    return created(VehicleOut().dump(vehicle), "Vehicle registered: issue an enrollment token")


@bp.put("/api/vehicles/<vehicle_id>")
@endpoint("vehicles:write", body=VehicleChange, response=VehicleOut)
def update_vehicle(vehicle_id: str, body: dict[str, Any]) -> Any:
    """Change a vehicle's details, or take it out of service (status=inactive)."""
    vehicle = service.update(db.session, current_actor(), vehicle_id, body)
    return ok(VehicleOut().dump(vehicle))
