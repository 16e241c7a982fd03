"""Open311 GeoReport v2 for the 940 reports, mounted on the portal app at ``/open311/v2/``.

Clients (the municipality's apps, partners) post with an api_key instead of a session, so the
blueprint is exempt from the portal's CSRF protection. See docs/open311.md.
"""

from __future__ import annotations

from flask import Flask

from captive_portal.open311.api import bp
from captive_portal.reports.context import init_context


def init_app(app: Flask) -> None:
    init_context(app)
    app.register_blueprint(bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(bp)


__all__ = ["bp", "init_app"]
