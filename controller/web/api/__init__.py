"""The REST API under /api/v1/: JSON in, JSON out, token authentication.

One parent blueprint (authentication for all) with a child per area; `BLUEPRINTS` lists them all
so the app can exempt each from CSRF (tokens are not sent by browsers on their own).
"""

from __future__ import annotations

from flask import Blueprint

from controller.web.api import aps, monitoring, provisioning, sites
from controller.web.api.common import authenticate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
for _child in (sites.bp, aps.bp, monitoring.bp, provisioning.bp):
    bp.register_blueprint(_child)

BLUEPRINTS = (bp, sites.bp, aps.bp, monitoring.bp, provisioning.bp)
