"""Events, alerts and audit entries as an operator reads them: a sentence and a small table.

The store keeps them as codes (``ap.create``, ``linkDown``, ``ap_down``) with a JSON detail and
times in unix seconds (ISO text once they have crossed an API boundary). Pages never show that
raw: each code has a sentence in the reader's language, the detail becomes a list of labelled
values (times in local time, numbers, addresses and codes left to right, long texts such as a
configuration diff folded away and wrapped), and a code nobody described yet reads as its words.

Template globals: ``audit_sentence(entry)``, ``actor_name(actor)``, ``event_sentence(event)``,
``alert_sentence(alert)``, ``alert_kind_name(kind)``, ``detail_list(detail, skip=())``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from controller.web.formatting import (
    iso_unix,
    ltr,
    role_name,
    severity_name,
    site_kind_name,
    state_name,
    when,
)

# ---- audit ----------------------------------------------------------------------------------

#: What each audit action did, with ``%(target)s`` the object's name.
AUDIT_ACTIONS = {
    "user.login": _l("signed in"),
    "user.login_failed": _l("failed to sign in as %(target)s"),
    "user.create": _l("added the user %(target)s"),
    "user.password": _l("changed the password of %(target)s"),
    "user.role": _l("changed the role of %(target)s"),
    "user.locale": _l("changed the language of %(target)s"),
    "user.sessions_end": _l("signed %(target)s out everywhere"),
    "token.create": _l("created an API token for %(target)s"),
    "token.revoke": _l("revoked API tokens of %(target)s"),
    "site.create": _l("added the site %(target)s"),
    "site.update": _l("changed the site %(target)s"),
    "site.delete": _l("deleted the site %(target)s"),
    "ap.create": _l("added the access point %(target)s"),
    "ap.update": _l("changed the access point %(target)s"),
    "ap.delete": _l("deleted the access point %(target)s"),
    "ap.adopt": _l("adopted the access point %(target)s"),
    "ap.adopt.ignore": _l("ignored the device %(target)s waiting for adoption"),
    "ap.adopt.push": _l("queued the first configuration of %(target)s"),
    "ap.hostkey.pin": _l("pinned the SSH host key of %(target)s"),
    "ap.hostkey.accept": _l("accepted a new SSH host key of %(target)s"),
    "ap.hostkey.forget": _l("forgot the SSH host key of %(target)s"),
    "ap.hostkey.mismatch": _l("saw a different SSH host key on %(target)s"),
    "config.push": _l("pushed a configuration to %(target)s"),
    "config.rollback": _l("rolled back the configuration of %(target)s"),
    "config.variables": _l("changed the configuration variables of %(target)s"),
    "group.create": _l("created the group %(target)s"),
    "group.member": _l("changed the members of the group %(target)s"),
    "alert.ack": _l("acknowledged the alert %(target)s"),
    "alert.silence": _l("silenced the alert %(target)s"),
    "alert.unsilence": _l("ended the silence of %(target)s"),
    "maintenance.add": _l("planned a maintenance window for %(target)s"),
    "maintenance.remove": _l("removed a maintenance window of %(target)s"),
    "notify.rule": _l("changed the notification rule %(target)s"),
    "notify.webhook_add": _l("added the webhook %(target)s"),
    "notify.webhook_remove": _l("removed the webhook %(target)s"),
    "oncall.person_add": _l("added %(target)s to the on-call rota"),
    "oncall.person_remove": _l("removed %(target)s from the on-call rota"),
    "oncall.shift_add": _l("added an on-call shift for %(target)s"),
    "oncall.shift_remove": _l("removed an on-call shift of %(target)s"),
    "report.move": _l("moved the 940 report %(target)s"),
    "report_schedule.add": _l("added the report schedule %(target)s"),
    "report_schedule.pause": _l("paused the report schedule %(target)s"),
    "report_schedule.resume": _l("resumed the report schedule %(target)s"),
    "report_schedule.remove": _l("removed the report schedule %(target)s"),
    "awareness.send": _l("sent the awareness message %(target)s"),
}

#: Where a change came from (the part of the actor before ':').
CHANNELS = {"web": _l("web"), "api": _l("API"), "cli": _l("command line"),
            "system": _l("system")}


def actor_name(actor: str | None) -> Markup:
    """``web:alice`` as "alice (web)"; ``system`` as the system."""
    text = str(actor or "")
    channel, _sep, name = text.partition(":")
    if not name:
        found = CHANNELS.get(text)
        return Markup(escape(str(found))) if found else Markup("<bdi>{}</bdi>").format(text)
    label = CHANNELS.get(channel)
    if label is None:
        return Markup("<bdi>{}</bdi>").format(text)
    return Markup("<bdi>{}</bdi> <span class=\"muted\">({})</span>").format(name, str(label))


def _humanized(code: str) -> str:
    return code.replace("_", " ").replace(".", " ")


def audit_sentence(entry: Mapping[str, Any]) -> Markup:
    """What an audit entry records, as a sentence (its target isolated in its direction)."""
    action = str(entry.get("action") or "")
    target = entry.get("target_id")
    template = AUDIT_ACTIONS.get(action)
    target_html = Markup("<bdi><strong>{}</strong></bdi>").format(target) if target else \
        Markup("—")
    if template is None:
        described = Markup("<code>{}</code>").format(action)
        return described + (Markup(" ") + target_html if target else Markup(""))
    return escape(str(template)).replace("%(target)s", target_html)


# ---- events ---------------------------------------------------------------------------------

EVENT_KINDS = {
    "coldStart": _l("The access point started (cold start)."),
    "warmStart": _l("The access point restarted its agent (warm start)."),
    "rebooted": _l("The access point restarted: its uptime went back (seen by the poll)."),
    "authenticationFailure": _l("The access point refused an SNMP request with a wrong "
                                "community or key."),
}


def _interface(detail: Mapping[str, Any]) -> Markup:
    name = detail.get("ifName") or detail.get("ifDescr")
    if name:
        return ltr(name)
    index = detail.get("ifIndex")
    return ltr(f"#{index}") if index is not None else Markup(escape(_("an interface")))


def event_sentence(event: Any) -> Markup:
    """An AP event (state change or trap) as a sentence."""
    kind = str(_get(event, "kind") or "")
    detail = _get(event, "detail") or {}
    if kind == "state":
        before, after = detail.get("from"), detail.get("to")
        if before:
            text = _("The state changed from %(before)s to %(after)s.",
                     before="\x00b", after="\x00a")
        else:
            text = _("The state is now %(after)s.", after="\x00a")
        return escape(text).replace(
            "\x00b", Markup("<strong>{}</strong>").format(state_name(before or ""))).replace(
            "\x00a", Markup("<strong>{}</strong>").format(state_name(after or "")))
    if kind in ("linkDown", "linkUp"):
        text = _("The interface %(name)s went down.", name="\x00n") if kind == "linkDown" else \
            _("The interface %(name)s came back up.", name="\x00n")
        return escape(text).replace("\x00n", _interface(detail))
    described = EVENT_KINDS.get(kind)
    if described is not None:
        return Markup(escape(str(described)))
    return escape(_("Notification %(name)s", name="\x00n")).replace(
        "\x00n", Markup("<code>{}</code>").format(kind))


#: Variable layers and backup sources (provisioning pages).
LAYERS = {"global": _l("global"), "site": _l("site"), "group": _l("group"),
          "ap": _l("access point")}
BACKUP_SOURCES = {"backup": _l("backup"), "pre-push": _l("before a push"),
                  "post-push": _l("after a push"), "rollback": _l("restore"),
                  "drift": _l("drift check"), "adoption": _l("adoption")}


def layer_name(scope: str | None) -> str:
    found = LAYERS.get(scope or "")
    return str(found) if found is not None else str(scope or "")


def backup_source_name(source: str | None) -> str:
    found = BACKUP_SOURCES.get(source or "")
    return str(found) if found is not None else _humanized(str(source or ""))


#: Event sources as a reader names them.
SOURCES = {"trap": _l("SNMP trap"), "poller": _l("poll"), "agent": _l("agent"),
           "mqtt": _l("MQTT hello")}


def source_name(source: str | None) -> str:
    found = SOURCES.get(source or "")
    return str(found) if found is not None else _humanized(str(source or ""))


# ---- alerts ---------------------------------------------------------------------------------

ALERT_KINDS = {
    "ap_down": _l("Access point down"),
    "auth_failed": _l("SNMP credentials refused"),
    "clients_over_capacity": _l("More clients than the AP's capacity"),
    "interface_errors": _l("Interface errors"),
    "backhaul_failover": _l("Branch on its backup link"),
    "radio_down": _l("Radio down"),
    "uplink_down": _l("Uplink down"),
    "report_backlog": _l("940 reports waiting for the back office"),
    "report_unacked": _l("A 940 report is not acknowledged by the back office"),
    "report_link_down": _l("The 940 forwarder's link is down"),
}


def alert_kind_name(kind: str | None) -> str:
    found = ALERT_KINDS.get(kind or "")
    return str(found) if found is not None else _humanized(str(kind or ""))


def alert_sentence(alert: Mapping[str, Any]) -> Markup:
    """What an alert says, with the numbers that opened it."""
    kind = alert.get("kind")
    detail = alert.get("detail") or {}
    name = alert_kind_name(kind)
    extra = ""
    if kind == "clients_over_capacity" and "clients" in detail:
        extra = _("%(clients)s clients for a capacity of %(capacity)s",
                  clients=_num(detail.get("clients")), capacity=_num(detail.get("capacity")))
    elif kind == "interface_errors" and "errors_ps" in detail:
        extra = _("%(rate)s errors/s (limit %(limit)s)", rate=_num(detail.get("errors_ps")),
                  limit=_num(detail.get("threshold")))
    elif kind == "report_backlog" and "waiting" in detail:
        extra = _("%(count)s reports waiting (limit %(limit)s)", count=_num(detail.get("waiting")),
                  limit=_num(detail.get("threshold")))
    elif kind == "ap_down" and detail.get("consecutive_failures"):
        extra = _("%(count)s polls in a row without an answer",
                  count=_num(detail.get("consecutive_failures")))
    elif kind in ("radio_down", "uplink_down") and detail.get("interfaces"):
        extra = _("reported down: %(interfaces)s",
                  interfaces=", ".join(str(i) for i in detail["interfaces"]))
    sentence = Markup("<strong>{}</strong>").format(name)
    if extra:
        sentence += Markup(": ") + Markup(escape(extra))
    return sentence


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "—" if value is None else str(value)


# ---- 940 reports (the desk) ----------------------------------------------------------------

REPORT_STATUSES = {
    "received": _l("received"), "forwarded": _l("sent to the back office"),
    "acknowledged": _l("accepted"), "assigned": _l("assigned"), "in_progress": _l("in progress"),
    "resolved": _l("resolved"), "closed": _l("closed"), "rejected": _l("rejected"),
    "reopened": _l("reopened"),
}
PRIORITIES = {"low": _l("low"), "normal": _l("normal"), "high": _l("high"),
              "urgent": _l("urgent")}
REPORT_EVENTS = {"status": _l("status"), "note": _l("note from the back office"),
                 "closure": _l("closure code"), "phone": _l("phone")}
REPORT_ACTORS = {"portal": _l("citizen (portal)"), "open311": _l("Open311 client"),
                 "backoffice": _l("back office"), "citizen": _l("citizen"),
                 "admin": _l("admin page"), "sla": _l("SLA watcher"), "system": _l("system")}
REPORT_NOTES = {"wrong closure code": _l("wrong closure code"),
                "phone verified": _l("phone verified")}


OUTBOX_STATES = {"pending": _l("waiting to be sent"), "acknowledged": _l("acknowledged"),
                 "sent": _l("sent"), "failed": _l("failed"), "queued": _l("queued")}
SMS_PURPOSES = {"report_received": _l("report received"), "report_status": _l("status change"),
                "report_status_note": _l("status change with a note"),
                "closure_code": _l("closure code"), "report_closed": _l("report closed"),
                "escalation": _l("escalation"), "login_code": _l("sign-in code"),
                "report_phone_code": _l("phone check code"), "sms_answer": _l("answer to an SMS"),
                "alert": _l("alert"), "awareness": _l("awareness message")}


def outbox_state_name(state: str | None) -> str:
    found = OUTBOX_STATES.get(state or "")
    return str(found) if found is not None else _humanized(str(state or ""))


def sms_purpose_name(purpose: str | None) -> str:
    found = SMS_PURPOSES.get(purpose or "")
    return str(found) if found is not None else _humanized(str(purpose or ""))


def report_status_name(status: str | None) -> str:
    found = REPORT_STATUSES.get(status or "")
    return str(found) if found is not None else _humanized(str(status or ""))


def priority_name(priority: str | None) -> str:
    found = PRIORITIES.get(priority or "")
    return str(found) if found is not None else str(priority or "")


def report_event_name(kind: str | None) -> str:
    found = REPORT_EVENTS.get(kind or "")
    return str(found) if found is not None else _humanized(str(kind or ""))


def report_actor_name(actor: str | None) -> Markup:
    found = REPORT_ACTORS.get(actor or "")
    return Markup(escape(str(found))) if found is not None else actor_name(actor)


def report_note(note: str | None) -> Markup:
    """A timeline note: the system's own notes translated, people's notes as written."""
    found = REPORT_NOTES.get(note or "")
    if found is not None:
        return Markup(escape(str(found)))
    return Markup('<span dir="auto">{}</span>').format(note or "")


# ---- details --------------------------------------------------------------------------------

#: Detail keys as labels.
DETAIL_KEYS = {
    "interfaces": _l("Interfaces"),
    "ip": _l("Address"), "source": _l("Sent by"), "role": _l("Role"), "locale": _l("Language"),
    "count": _l("Count"), "name": _l("Name"), "id": _l("Number"),
    "expires_at": _l("Expires"), "sessions_ended": _l("Sessions ended"),
    "state": _l("State"), "from": _l("From"), "to": _l("To"), "last_error": _l("Last error"),
    "consecutive_failures": _l("Failed polls in a row"), "clients": _l("Clients"),
    "capacity": _l("Capacity"), "errors_ps": _l("Errors per second"),
    "threshold": _l("Threshold"), "ifIndex": _l("Interface number"),
    "ifDescr": _l("Interface"), "ifName": _l("Interface"), "ifAdminStatus": _l("Admin status"),
    "ifOperStatus": _l("Link status"), "mac": _l("MAC address"), "mgmt_ip": _l("Management IP"),
    "site": _l("Site"), "platform": _l("Platform"), "job": _l("Job"), "result": _l("Result"),
    "diff": _l("Changes"), "commands": _l("Commands"), "changes": _l("Changed fields"),
    "fingerprint": _l("Host key fingerprint"), "old": _l("Before"), "new": _l("After"),
    "note": _l("Note"), "until": _l("Until"), "reason": _l("Reason"), "by": _l("By"),
    "starts_at": _l("Starts"), "ends_at": _l("Ends"), "scope": _l("Scope"),
    "severity": _l("Severity"), "kind": _l("Kind"), "status": _l("Status"),
    "version": _l("Version"), "trap": _l("Notification"), "members": _l("Members"),
    "variables": _l("Variables"), "link": _l("Link"), "from_link": _l("From link"),
    "to_link": _l("To link"), "switch_ms": _l("Switch time (ms)"), "at": _l("Time"),
    "opened_at": _l("Opened"), "cleared_at": _l("Cleared"), "url": _l("Address"),
    "email": _l("E-mail"), "phone": _l("Phone"), "text": _l("Text"),
    "recipients": _l("Recipients"), "segments": _l("SMS parts"),
    "site_id": _l("Site number"), "lat": _l("Latitude"), "lon": _l("Longitude"),
    "name_ar": _l("Name (Arabic)"), "name_en": _l("Name (English)"), "slug": _l("Short name"),
    "snmp_version": _l("SNMP version"), "snmp_port": _l("SNMP port"),
    "snmp_user": _l("SNMP user"), "snmp_auth_proto": _l("SNMP authentication"),
    "snmp_priv_proto": _l("SNMP privacy"), "snmp_context": _l("SNMP context"),
    "snmp_engine_id": _l("SNMP engine ID"), "snmp_community_set": _l("SNMP community set"),
    "snmp_auth_key_set": _l("SNMP authentication key set"),
    "snmp_priv_key_set": _l("SNMP privacy key set"), "ssh_username": _l("SSH user"),
    "ssh_port": _l("SSH port"), "ssh_password_set": _l("SSH password set"),
    "waiting": _l("Waiting"), "oldest_waiting_s": _l("Oldest waiting (s)"),
    "most_sends": _l("Most sends of one report"), "threshold_m": _l("Threshold (min)"),
    "threshold_sends": _l("Threshold (sends)"), "down_for_s": _l("Down for (s)"),
}

VALUE_WORDS = {
    True: _l("yes"), False: _l("no"),
    "ok": _l("succeeded"), "failed": _l("failed"), "rolled_back": _l("rolled back"),
    "rollback_failed": _l("rollback failed"), "dry_run": _l("dry run"),
    "up": _l("up"), "down": _l("down"),
}

_LONG = 160


def shown_time(value: Any) -> Markup | str:
    """A time given as unix seconds or ISO text, in local time with its zone."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return when(value)
    if isinstance(value, str):
        return when(value)
    return "—"


def _value(key: str, value: Any) -> Markup:
    if value is None or value == "":
        return Markup("—")
    if isinstance(value, bool) or (isinstance(value, str) and value in VALUE_WORDS):
        return Markup(escape(str(VALUE_WORDS[value])))
    if key in ("role",) and isinstance(value, str):
        return Markup(escape(role_name(value)))
    if key in ("state", "from", "to") and isinstance(value, str):
        return Markup(escape(state_name(value)))
    if key == "severity" and isinstance(value, str):
        return Markup(escape(severity_name(value)))
    if key == "kind" and isinstance(value, str) and value in ("park", "walkway", "branch"):
        return Markup(escape(site_kind_name(value)))
    if isinstance(value, (int, float)):
        if key.endswith("_at") and value > 1e9:
            return Markup(when(value))
        return ltr(_num(value))
    if isinstance(value, str):
        unix = iso_unix(value)
        if unix is not None:
            return Markup(when(unix))
        if "\n" in value or len(value) > _LONG:
            return Markup('<details><summary>{}</summary><pre class="wrap" dir="ltr">{}</pre>'
                          '</details>').format(
                _("show (%(lines)d lines)", lines=value.count("\n") + 1), value)
        return Markup("<bdi>{}</bdi>").format(value)
    if isinstance(value, Mapping):
        return detail_list(value)
    if isinstance(value, Iterable):
        items = [_value(key, item) for item in value]
        return _separator().join(items) if items else Markup("—")
    return Markup("<bdi>{}</bdi>").format(str(value))


def detail_label(key: str) -> Markup:
    found = DETAIL_KEYS.get(key)
    return Markup(escape(str(found))) if found is not None else Markup(
        "<code>{}</code>").format(key)


def detail_list(detail: Any, skip: Iterable[str] = ()) -> Markup:
    """A JSON detail as a definition list (nested objects nest); empty for no detail."""
    if detail is None or detail == {} or detail == []:
        return Markup("")
    if not isinstance(detail, Mapping):
        return _value("", detail)
    skipped = set(skip)
    rows = [Markup("<dt>{}</dt><dd>{}</dd>").format(detail_label(str(k)), _value(str(k), v))
            for k, v in detail.items() if k not in skipped]
    if not rows:
        return Markup("")
    return Markup('<dl class="detail">') + Markup("").join(rows) + Markup("</dl>")


def _separator() -> Markup:
    return Markup("، " if str(get_locale() or "en") == "ar" else ", ")


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        audit_sentence=audit_sentence, actor_name=actor_name, event_sentence=event_sentence,
        alert_sentence=alert_sentence, alert_kind_name=alert_kind_name, detail_list=detail_list,
        source_name=source_name, shown_time=shown_time, layer_name=layer_name,
        backup_source_name=backup_source_name, report_status_name=report_status_name,
        priority_name=priority_name, report_event_name=report_event_name,
        report_actor_name=report_actor_name, report_note=report_note,
        outbox_state_name=outbox_state_name, sms_purpose_name=sms_purpose_name)


__all__ = ["actor_name", "alert_kind_name", "alert_sentence", "audit_sentence", "detail_list",
           "event_sentence", "init_app", "shown_time", "source_name"]
