"""/api/v1 alerting: acknowledge an alert, silences, maintenance windows, the on-call rota,
notification routing and webhooks, the notification outbox, and the 940 pipeline's health.

Reads need the viewer role (the rota, routing and outbox, which hold people's contact points,
the operator role); acknowledging, silencing and maintenance the operator role; the rota,
routing and webhooks the admin role. Every change is audited with the ``api:<user>`` actor.
Times in answers are ISO 8601; times in requests are ISO 8601 (with an offset, or local time in
``[municipality] timezone`` without one) or unix seconds.
"""

from __future__ import annotations

import time

from flask import Blueprint, jsonify

from controller.monitoring import reports_health
from controller.notify import outbox, rota, router, rules
from controller.web import alerting, context
from controller.web.api.common import caller, int_arg, json_body, json_object, require
from controller.web.errors import ApiError, error_response
from core import alerts as alert_rows
from core import maintenance
from core.errors import CodedError
from core.store import iso, now, with_iso

bp = Blueprint("alerting", __name__)

_NOT_FOUND = {"alert.not_found", "rota.no_person", "not_found"}


@bp.errorhandler(CodedError)
def _refused(exc: CodedError):
    if isinstance(exc, ApiError):  # this handler is found first for the area's requests
        return error_response(exc.status, exc.code, exc.message, exc.field)
    return error_response(404 if exc.code in _NOT_FOUND else 422, exc.code, exc.message,
                          exc.field)


def _actor() -> str:
    return context.actor(caller())


def _moment(data: dict, field: str) -> float | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        if not 0 <= value < 2 ** 33:
            raise ApiError(422, "invalid_field", f"{field} is out of range", field)
        return float(value)
    return alerting.local_time(str(value), field)


def _span(data: dict) -> tuple[float, float]:
    """``starts_at`` (default now) and ``ends_at``, or ``hours`` from the start."""
    start = _moment(data, "starts_at") or now()
    end = _moment(data, "ends_at")
    if end is None:
        if data.get("hours") is None:
            raise ApiError(422, "missing_field", "give ends_at or hours", "ends_at")
        end = start + alerting.hours(data["hours"])
    return start, end


def _target(data: dict) -> tuple[int | None, int | None]:
    if data.get("ap") and data.get("site"):
        raise ApiError(422, "invalid_field", "give an AP or a site, not both", "site")
    if data.get("ap"):
        return alerting.target(f"ap:{data['ap']}", "ap")
    if data.get("site"):
        return alerting.target(f"site:{data['site']}", "site")
    return None, None


# ---- alerts --------------------------------------------------------------------------------

def _alert(alert_id: int) -> dict:
    row = alert_rows.get(context.store(), alert_id)
    if row is None:
        raise ApiError(404, "not_found", f"no alert {alert_id}")
    shown = with_iso(row, "opened_at", "cleared_at", "acked_at")
    shown["notifications"] = [with_iso(d, "decided_at")
                              for d in router.decisions(context.store(), alert_id)]
    return shown


@bp.get("/alerts/<int:alert_id>")
@require("viewer")
def alert(alert_id: int):
    return jsonify(_alert(alert_id))


@bp.post("/alerts/<int:alert_id>/ack")
@require("operator")
def acknowledge(alert_id: int):
    note = str(json_object().get("note") or "")[:500]
    alert_rows.acknowledge(context.store(), alert_id, actor=_actor(), note=note)
    return jsonify(_alert(alert_id))


# ---- silences ------------------------------------------------------------------------------

def _silences() -> list[dict]:
    return [with_iso(s, "starts_at", "ends_at", "created_at", "cancelled_at")
            for s in alert_rows.silences(context.store())]


@bp.get("/silences")
@require("viewer")
def silences():
    return jsonify({"silences": _silences()})


@bp.post("/silences")
@require("operator")
def silence():
    data = json_object()
    start, end = _span(data)
    ap_id, site_id = _target(data)
    alert_id = data.get("alert_id")
    if alert_id is not None and not isinstance(alert_id, int):
        raise ApiError(422, "invalid_field", "alert_id must be an integer", "alert_id")
    silence_id = alert_rows.add_silence(
        context.store(), actor=_actor(), alert_id=alert_id, kind=data.get("kind") or None,
        ap_id=ap_id, site_id=site_id, starts_at=start, ends_at=end,
        reason=str(data.get("reason") or "")[:500])
    (made,) = [s for s in _silences() if s["id"] == silence_id]
    return jsonify(made), 201


@bp.delete("/silences/<int:silence_id>")
@require("operator")
def end_silence(silence_id: int):
    if not alert_rows.cancel_silence(context.store(), silence_id, actor=_actor()):
        raise ApiError(404, "not_found", f"no silence {silence_id} in force")
    return "", 204


# ---- maintenance ---------------------------------------------------------------------------

def _window(w: maintenance.Window) -> dict:
    return {"id": w.id, "ap_id": w.ap_id, "site_id": w.site_id, "starts_at": iso(w.starts_at),
            "ends_at": iso(w.ends_at), "reason": w.reason, "created_by": w.created_by,
            "created_at": iso(w.created_at)}


@bp.get("/maintenance")
@require("viewer")
def windows():
    days = int_arg("days", 7, 0, 400)
    at = time.time()
    return jsonify({"windows": [_window(w) for w in maintenance.overlapping(
        context.store(), at - days * 86400, at + 400 * 86400)]})


@bp.post("/maintenance")
@require("operator")
def plan():
    data = json_object()
    start, end = _span(data)
    ap_id, site_id = _target(data)
    window = maintenance.add(context.store(), starts_at=start, ends_at=end, actor=_actor(),
                             reason=str(data.get("reason") or "")[:500], ap_id=ap_id,
                             site_id=site_id)
    return jsonify(_window(window)), 201


@bp.delete("/maintenance/<int:window_id>")
@require("operator")
def cancel(window_id: int):
    if not maintenance.remove(context.store(), window_id, actor=_actor()):
        raise ApiError(404, "not_found", f"no maintenance window {window_id}")
    return "", 204


# ---- on-call rota --------------------------------------------------------------------------

@bp.get("/oncall")
@require("operator")
def oncall():
    conn = context.store().conn
    tz = context.runtime().config.municipality.timezone
    return jsonify({"timezone": tz,
                    "people": [vars(p) for p in rota.people(conn)],
                    "shifts": [vars(s) for s in rota.shifts(conn)],
                    "on_call_now": [p.id for p in rota.on_call(conn, now(), tz)]})


@bp.post("/oncall/people")
@require("admin")
def add_person():
    data = json_object()
    person_id = rota.add_person(
        context.store(), actor=_actor(), name=str(data.get("name") or ""),
        email=str(data.get("email") or ""), phone=str(data.get("phone") or ""),
        locale=str(data.get("locale") or "ar"), digest=data.get("digest", 1) not in (0, "0"))
    (person,) = [p for p in rota.people(context.store().conn) if p.id == person_id]
    return jsonify(vars(person)), 201


@bp.delete("/oncall/people/<int:person_id>")
@require("admin")
def remove_person(person_id: int):
    if not rota.remove_person(context.store(), person_id, actor=_actor()):
        raise ApiError(404, "not_found", f"no person {person_id} on the rota")
    return "", 204


@bp.post("/oncall/shifts")
@require("admin")
def add_shift():
    data = json_object()
    person, weekday = data.get("person_id"), data.get("weekday")
    if not isinstance(person, int):
        raise ApiError(422, "invalid_field", "person_id must be an integer", "person_id")
    if weekday is not None and not isinstance(weekday, int):
        raise ApiError(422, "invalid_field", "weekday must be 1 (Monday) to 7", "weekday")
    shift_id = rota.add_shift(context.store(), actor=_actor(), person_id=person,
                              weekday=weekday, starts=str(data.get("starts") or ""),
                              ends=str(data.get("ends") or ""))
    (shift,) = [s for s in rota.shifts(context.store().conn) if s.id == shift_id]
    return jsonify(vars(shift)), 201


@bp.delete("/oncall/shifts/<int:shift_id>")
@require("admin")
def remove_shift(shift_id: int):
    if not rota.remove_shift(context.store(), shift_id, actor=_actor()):
        raise ApiError(404, "not_found", f"no shift {shift_id}")
    return "", 204


# ---- routing, webhooks, outbox -------------------------------------------------------------

def _rules() -> dict:
    return {s: {"channels": list(r.channels), "on_clear": r.on_clear}
            for s, r in rules.rules(context.store().conn).items()}


@bp.get("/notifications/rules")
@require("operator")
def routing():
    return jsonify({"rules": _rules()})


@bp.put("/notifications/rules/<severity>")
@require("admin")
def set_routing(severity: str):
    data = json_body_rule()
    rules.set_rule(context.store(), rules.Rule(severity, **data), actor=_actor())
    return jsonify({"rules": _rules()})


def json_body_rule() -> dict:
    data = json_body()
    unknown = set(data) - {"email", "sms", "webhook", "on_clear"}
    if unknown:
        first = min(unknown)
        raise ApiError(422, "unknown_field", f"unknown field {first}", first)
    for key, value in data.items():
        if not isinstance(value, bool):
            raise ApiError(422, "invalid_field", f"{key} must be true or false", key)
    return {key: data.get(key, key == "on_clear") for key in
            ("email", "sms", "webhook", "on_clear")}


@bp.get("/notifications/webhooks")
@require("operator")
def webhooks():
    return jsonify({"webhooks": [vars(w) for w in rules.webhooks(context.store().conn)]})


@bp.post("/notifications/webhooks")
@require("admin")
def add_webhook():
    data = json_object()
    webhook_id, secret = rules.add_webhook(
        context.store(), context.runtime().secret_box, actor=_actor(),
        name=str(data.get("name") or ""), url=str(data.get("url") or ""),
        secret=str(data.get("secret") or ""))
    return jsonify({"id": webhook_id, "name": data.get("name"), "url": data.get("url"),
                    "secret": secret}), 201


@bp.delete("/notifications/webhooks/<int:webhook_id>")
@require("admin")
def remove_webhook(webhook_id: int):
    if not rules.remove_webhook(context.store(), webhook_id, actor=_actor()):
        raise ApiError(404, "not_found", f"no webhook {webhook_id}")
    return "", 204


@bp.get("/notifications/outbox")
@require("operator")
def notifications():
    limit = int_arg("limit", 50, 1, 500)
    return jsonify({"counts": outbox.counts(context.store()),
                    "messages": [with_iso(m, "created_at", "sent_at", "next_attempt_at")
                                 for m in outbox.recent(context.store(), limit)]})


@bp.get("/pipeline")
@require("viewer")
def pipeline():
    return jsonify(reports_health.pipeline_health(context.store(), time.time()).as_dict())
