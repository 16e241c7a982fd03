"""``/api/v1/kpi/...``: the figures of the KPI pages as JSON.

A child of the admin API's blueprint, which authenticates every request (a bearer token, or the
session cookie for reads) and leaves the caller in ``g.api_user``; every route here reads, so
any signed-in role may call it. Errors have the API's shape, ``{"error": {code, message, field}}``.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from reporting import areas as registry
from reporting.i18n import LOCALES, translator
from reporting.model import PeriodError
from reporting.serialize import section_json
from reporting.web import common

bp = Blueprint("kpi_api", __name__, url_prefix="/kpi")


def _error(status: int, code: str, message: str, field: str | None = None):
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    return response


@bp.errorhandler(PeriodError)
def _refused(exc: PeriodError):
    return _error(400, exc.code, exc.message, exc.field)


def _labels():
    """Labels in ``?lang=`` (English by default: API clients are programs first)."""
    lang = request.args.get("lang", "en")
    if lang not in LOCALES:
        raise PeriodError("lang.unknown", f"lang: one of {', '.join(LOCALES)}", "lang")
    return translator(lang)


@bp.get("")
def overview():
    """Headline figures of every area, each area with its link."""
    _ = _labels()
    period, filters = common.period(), common.filters()
    section = registry.overview(common.store(), common.config(), period, filters)
    body = section_json(section, _, tables=False)
    body["areas"] = [{"name": a.name, "title": _(a.title), "href": f"/api/v1/kpi/{a.name}"}
                     for a in registry.registry()]
    return jsonify(body)


@bp.get("/<name>")
def area(name: str):
    """One area: figures, tables (every row) and chart series."""
    _ = _labels()
    try:
        item = registry.area(name)
    except PeriodError:
        names = ", ".join(a.name for a in registry.registry())
        return _error(404, "not_found", f"no KPI area {name!r}; areas: {names}")
    period, filters = common.period(), common.filters()
    return jsonify(section_json(item.build(common.store(), common.config(), period, filters), _))
