"""The portal's blueprints, one per area; `register` attaches them all to an app."""

from __future__ import annotations

from flask import Flask

from captive_portal.views import login, pages, status


def register(app: Flask) -> None:
    app.register_blueprint(pages.bp)
    app.register_blueprint(login.bp)
    app.register_blueprint(status.bp)


__all__ = ["register"]
