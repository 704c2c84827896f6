"""Vehicle operations on the edge: routes, appointments, stock, assets, supply, alerts.

One `register` call wires their blueprints and menu entries into the edge app.
"""

from __future__ import annotations

from flask import Flask

from common.web import add_nav

NAV = (
    ("Today", "crew_pages.day", "routes:read"),
    ("Stock", "crew_pages.stock_page", "inventory:read"),
    ("Assets", "crew_pages.assets_page", "assets:read"),
    ("Supply", "crew_pages.supply_page", "supply:read"),
    ("Alerts", "crew_pages.alerts_page", "alerts:read"),
)


def register(app: Flask) -> None:
    from edge.alert.routes import bp as alert_bp
    from edge.appointment.routes import bp as appointment_bp
    from edge.asset.routes import bp as asset_bp
    from edge.crew.pages import bp as pages_bp
    from edge.dashboard.routes import bp as dashboard_bp
    from edge.location.routes import bp as location_bp
    from edge.route.routes import bp as route_bp
    from edge.stock.routes import bp as stock_bp
    from edge.supply.routes import bp as supply_bp

    for blueprint in (
        alert_bp,
        appointment_bp,
        asset_bp,
        dashboard_bp,
        location_bp,
        route_bp,
        stock_bp,
        supply_bp,
        pages_bp,
    ):
        app.register_blueprint(blueprint)
    for label, endpoint, permission in NAV:
        add_nav(app, label, endpoint, permission)
