"""The edge node: the Flask app that runs on a clinic vehicle's laptop over SQLCipher."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from common import auth, web
from common.database import sqlcipher_engine_options
from edge import clinic
from edge import config as edge_config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the edge app. No side effects: no migration, no scheduler, no connection."""
    app = Flask(__name__)
    app.config.from_mapping(edge_config.from_env(os.environ))
    if config:
        app.config.update(config)
    app.config["SECRET_KEY"] = edge_config.secret_key(app.config)
    path = Path(app.config["DATABASE_PATH"])
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{path}"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlcipher_engine_options(
        path, edge_config.database_key(app.config)
    )
    web.init_app(app, title="Mobile Clinic", home_endpoint="crew.home")
    auth.install(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from common.users.routes import bp as users_bp
    from edge import operations
    from edge.crew.routes import bp as crew_bp
    from edge.sync.routes import bp as sync_bp

    app.register_blueprint(crew_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(sync_bp)
    clinic.register(app)
    operations.register(app)
