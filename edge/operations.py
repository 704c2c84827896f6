"""Vehicle operations on the edge: routes, appointments, stock, assets, supply, alerts.

One `register` call wires their blueprints and menu entries into the edge app.
"""

from __future__ import annotations

from flask import Flask

from common.web import add_nav

NAV: tuple[tuple[str, str, str], ...] = ()


def register(app: Flask) -> None:
    from edge.alert.routes import bp as alert_bp
    from edge.appointment.routes import bp as appointment_bp
    from edge.location.routes import bp as location_bp
    from edge.route.routes import bp as route_bp
    from edge.stock.routes import bp as stock_bp

    for blueprint in (
        alert_bp,
        appointment_bp,
        location_bp,
        route_bp,
        stock_bp,
    ):
        app.register_blueprint(blueprint)
    for label, endpoint, permission in NAV:
        add_nav(app, label, endpoint, permission)
