"""Head office's start page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from common.api import endpoint

bp = Blueprint("dashboard", __name__, template_folder="../templates")


@bp.get("/")
@endpoint("dashboard:read", page=True)
def home() -> Any:
    """The head-office dashboard's start page."""
    return render_template("dashboard/home.html")
