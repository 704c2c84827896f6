"""The crew's start page in the vehicle."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from common.api import endpoint

bp = Blueprint("crew", __name__, template_folder="../templates")


@bp.get("/")
@endpoint("dashboard:read", page=True)
def home() -> Any:
    """The start page of the crew browser."""
    return render_template("crew/home.html")
