"""The REST API under /api/v1/: JSON in, JSON out, token authentication.

One parent blueprint (authentication for all) with a child per area, registered in one place:
`AREAS`. A new area is a module with a ``bp`` and a line here; `BLUEPRINTS` lists the parent and
every area so the app can exempt each from CSRF (tokens are not sent by browsers on their own).
"""

from __future__ import annotations

from flask import Blueprint

from controller.web.api import (
    alerting,
    aps,
    awareness,
    branches,
    index,
    monitoring,
    provisioning,
    sites,
)
from controller.web.api.common import authenticate
from reporting.web import api as kpi

#: Every area of the API, each a child blueprint of `bp`.
AREAS = (sites.bp, aps.bp, monitoring.bp, provisioning.bp, branches.bp, kpi.bp, alerting.bp,
         awareness.bp)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.before_request(authenticate)
for _area in AREAS:
    bp.register_blueprint(_area)
# The index and the OpenAPI document: /api/v1/ and /api/v1/openapi.json, without a token.
bp.register_blueprint(index.bp)

BLUEPRINTS = (bp, *AREAS, index.bp)
