"""The crew's start page in the vehicle: today at a glance."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from common.access import current_actor
from common.api import endpoint
from common.database import db
from edge.dashboard import service as dashboard
from edge.sync import service as sync_service

bp = Blueprint("crew", __name__, template_folder="../templates")


@bp.get("/")
@endpoint("dashboard:read", page=True)
def home() -> Any:
    """The start page of the crew browser: the dashboard of the day."""
    actor = current_actor()
    stats = dashboard.stats(db.session, actor) if actor.vehicle_id else None
    sync = sync_service.status(db.engine, current_app.config)
    return render_template("crew/home.html", stats=stats, sync=sync)
