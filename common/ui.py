"""The browser shell both apps share: base layout, error page, stylesheet and script.

Everything is served from the app itself: a vehicle has no internet, so no CDN.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "ui",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/ui",
)
