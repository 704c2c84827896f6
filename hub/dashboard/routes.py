"""Head office's pages, and the blueprints of the head-office APIs they are built on."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, render_template

from common.api import endpoint

bp = Blueprint(
    "dashboard",
    __name__,
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static/hub",
)


def install(app: Flask) -> None:
    """Register the head-office APIs (people, reference data, planning, supply, reports)."""
    from hub.alert.routes import bp as alerts_bp
    from hub.fleet.routes import bp as fleet_bp
    from hub.invite.routes import bp as invites_bp
    from hub.planning.routes import bp as planning_bp
    from hub.reference.routes import bp as reference_bp
    from hub.report.routes import bp as reports_bp
    from hub.supply.routes import bp as supply_bp

    for blueprint in (
        invites_bp,
        reference_bp,
        planning_bp,
        supply_bp,
        fleet_bp,
        reports_bp,
        alerts_bp,
    ):
        app.register_blueprint(blueprint)


@bp.get("/")
@endpoint("dashboard:read", page=True)
def home() -> Any:
    """The head-office dashboard's start page."""
    return render_template("dashboard/home.html")
