"""The hub: head office's Flask app over MySQL, where every vehicle's work converges."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from common import auth, web
from common.database import engine_options
from hub import config as hub_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the hub app. No side effects: no migration, no scheduler, no connection."""
    app = Flask(__name__)
    app.config.from_mapping(hub_config.from_env(os.environ))
    if config:
        app.config.update(config)
    app.config["SECRET_KEY"] = hub_config.secret_key(app.config)
    url = app.config["DATABASE_URL"]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(url)
    _behind_proxies(app, int(app.config.get("PROXY_COUNT") or 0))
    web.init_app(app, title="Mobile Clinic Head Office", home_endpoint="dashboard.home")
    auth.install(app, totp=True)
    _register_blueprints(app)
    return app


def _behind_proxies(app: Flask, count: int) -> None:
    """Behind `count` proxies (a load balancer), the client is the address they forward:
    login limits and lockouts count per client address, and the balancer's own would
    make every client one (and let one address's failures hold back everyone's)."""
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]


def _register_blueprints(app: Flask) -> None:
    from common.users.routes import assignments
    from common.users.routes import bp as users_bp
    from hub.audit.routes import bp as audit_bp
    from hub.claims.routes import bp as claims_bp
    from hub.dashboard.routes import bp as dashboard_bp
    from hub.dashboard.routes import install as install_dashboard  # head-office APIs
    from hub.sync.pages import bp as sync_pages_bp
    from hub.sync.routes import bp as sync_bp

    app.register_blueprint(dashboard_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(assignments)
    app.register_blueprint(audit_bp)
    app.register_blueprint(sync_bp)
    app.register_blueprint(sync_pages_bp)
    app.register_blueprint(claims_bp)
    install_dashboard(app)
