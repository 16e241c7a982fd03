"""/api/v1/awareness: awareness messages to a site's recent reporters (docs/api.md).

``POST /awareness/preview`` says what sending would do (recipients, encodings, segments, cost)
and returns a ``token``; ``POST /awareness`` with the same fields and that token queues the
message (409 ``audience_changed`` when the recipients or texts are no longer what the preview
showed). Both need the operator role; reading needs viewer.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, url_for

from captive_portal.reports import awareness
from captive_portal.reports.awareness import AwarenessError
from controller.web import context
from controller.web.api.common import caller, int_arg, json_object, require
from controller.web.errors import ApiError

bp = Blueprint("awareness", __name__)

FIELDS = ("site", "days", "body_ar", "body_en", "token")


def _request() -> dict:
    data = json_object()
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ApiError(422, "unknown_field", f"unknown field {unknown[0]!r}", unknown[0])
    for field in ("site", "body_ar", "body_en", "token"):
        if data.get(field) is not None and not isinstance(data[field], str):
            raise ApiError(422, "invalid_field", f"{field} must be a string", field)
    return data


def _refused(exc: AwarenessError) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.field)


@bp.get("/awareness")
@require("viewer")
def list_campaigns():
    limit = int_arg("limit", 50, 1, 500)
    return jsonify({"campaigns": [c.shown() for c in
                                  awareness.campaigns(context.store(), limit)]})


@bp.get("/awareness/<int:campaign_id>")
@require("viewer")
def get_campaign(campaign_id: int):
    found = awareness.get_campaign(context.store(), campaign_id)
    if found is None:
        raise ApiError(404, "not_found", f"no awareness message {campaign_id}")
    return jsonify(found.shown())


@bp.post("/awareness/preview")
@require("operator")
def preview():
    data = _request()
    sms = context.runtime().config.sms
    try:
        shown = awareness.preview(context.store(), data.get("site") or "", data.get("days", 30),
                                  {"ar": data.get("body_ar") or "", "en": data.get("body_en") or ""},
                                  segment_price=sms.segment_price, currency=sms.currency)
    except AwarenessError as exc:
        raise _refused(exc) from None
    return jsonify(shown.shown())


@bp.post("/awareness")
@require("operator")
def send():
    data = _request()
    sms = context.runtime().config.sms
    try:
        campaign_id = awareness.create(
            context.store(), data.get("site") or "", data.get("days", 30),
            {"ar": data.get("body_ar") or "", "en": data.get("body_en") or ""},
            token=data.get("token") or "", actor=context.actor(caller()),
            segment_price=sms.segment_price, currency=sms.currency)
    except AwarenessError as exc:
        raise _refused(exc) from None
    found = awareness.get_campaign(context.store(), campaign_id)
    assert found is not None
    response = jsonify(found.shown())
    response.status_code = 201
    response.headers["Location"] = url_for("api.awareness.get_campaign", campaign_id=campaign_id)
    return response


__all__ = ["bp"]
