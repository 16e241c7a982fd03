"""What notifications say, in the recipient's language (Arabic by default, English).

Texts are message ids in English, translated through this package's own catalogue
(controller/notify/translations, read by `core.catalogues`; the admin pages use it for the alert
kinds' names too, since they are marked here); numbers, names and times are put in
left to right isolates in Arabic text so the bidi algorithm keeps them whole. Webhooks get the
facts as JSON, not a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import catalogues, localtime

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
#: Left-to-right isolate: keeps an AP name, a number or a time whole inside Arabic text.
LRI, PDI = "\u2066", "\u2069"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated when a message is written."""
    return message


#: What each alert kind is called in a message.
KIND_NAMES = {
    "ap_down": N_("AP down"),
    "auth_failed": N_("SNMP credentials refused"),
    "clients_over_capacity": N_("Clients above capacity"),
    "interface_errors": N_("Interface errors"),
    "radio_down": N_("Radio down"),
    "uplink_down": N_("Uplink down"),
    "config_drift": N_("Configuration drift"),
    "backhaul_failover": N_("Branch on its backup link"),
    "report_backlog": N_("940 reports waiting for the back office"),
    "report_unacked": N_("940 report not acknowledged by the back office"),
    "report_link_down": N_("940 link to the back office down"),
}
SEVERITY_NAMES = {"critical": N_("critical"), "warning": N_("warning"), "info": N_("info")}
PHASE_NAMES = {"open": N_("Opened"), "clear": N_("Cleared"), "remind": N_("Still open")}


def gettext(locale: str) -> Callable[[str], str]:
    """The gettext function of ``locale`` (``ar`` or ``en``; another falls back to English)."""
    return catalogues.load(TRANSLATIONS, locale).gettext


def kind_name(kind: str, locale: str) -> str:
    """What an alert kind is called in ``locale``."""
    name = KIND_NAMES.get(kind)
    return gettext(locale)(name) if name else kind.replace("_", " ")


def _iso(value: object, locale: str) -> str:
    text = str(value)
    return f"{LRI}{text}{PDI}" if locale == "ar" else text


def subject_of(alert: dict[str, Any]) -> str:
    """Where the alert is: its AP, branch or the 940 pipeline."""
    if alert.get("ap_name"):
        return str(alert["ap_name"])
    if alert.get("branch"):
        return str(alert["branch"])
    return "940" if alert.get("scope") == "reports" else "-"


def alert_text(alert: dict[str, Any], locale: str, tz: str) -> tuple[str, str, str]:
    """(e-mail subject, e-mail body, SMS text) for one alert message."""
    _ = gettext(locale)
    kind = _(KIND_NAMES.get(alert["kind"], alert["kind"]))
    phase = _(PHASE_NAMES.get(alert["phase"], alert["phase"]))
    severity = _(SEVERITY_NAMES.get(alert["severity"], alert["severity"]))
    where = _iso(subject_of(alert), locale)
    subject = f"[{severity}] {phase}: {kind}: {where}"
    opened = _iso(localtime.show(alert["opened_at"], tz), locale)
    lines = [f"{kind}: {where}",
             f"{_('Severity')}: {severity}",
             f"{_('Opened')}: {opened}"]
    if alert.get("site"):
        lines.append(f"{_('Site')}: {_iso(alert['site'], locale)}")
    if alert.get("cleared_at"):
        lines.append(f"{_('Cleared')}: {_iso(localtime.show(alert['cleared_at'], tz), locale)}")
    for key, value in sorted((alert.get("detail") or {}).items()):
        if value not in (None, ""):
            lines.append(f"{key.replace('_', ' ')}: {_iso(value, locale)}")
    lines += ["", _("Alert number %(id)s. Acknowledge it on the Alerts page to stop reminders.")
              % {"id": _iso(alert["alert_id"], locale)}]
    sms = f"{phase}: {kind} {where} ({severity}) {opened}"
    return subject, "\n".join(lines), sms


def digest_text(digest: dict[str, Any], locale: str, tz: str) -> tuple[str, str]:
    """(subject, body) of a digest: what opened and what cleared in its period."""
    _ = gettext(locale)
    start = _iso(localtime.show(digest["start"], tz), locale)
    end = _iso(localtime.show(digest["end"], tz), locale)
    subject = _("Alert digest %(start)s - %(end)s") % {"start": start, "end": end}
    lines = [subject, ""]
    for title, key, stamp in ((_("Opened"), "opened", "opened_at"),
                              (_("Cleared"), "cleared", "cleared_at")):
        rows = digest[key]
        lines.append(f"{title} ({_iso(len(rows), locale)})")
        for row in rows:
            kind = _(KIND_NAMES.get(row["kind"], row["kind"]))
            severity = _(SEVERITY_NAMES.get(row["severity"], row["severity"]))
            lines.append(f"- {_iso(localtime.show(row[stamp], tz), locale)} [{severity}] {kind}:"
                         f" {_iso(subject_of(row), locale)}")
        lines.append("")
    still = digest.get("still_open", 0)
    lines.append(_("Open now: %(n)s") % {"n": _iso(still, locale)})
    return subject, "\n".join(lines)


__all__ = ["KIND_NAMES", "N_", "PHASE_NAMES", "SEVERITY_NAMES", "alert_text", "digest_text",
           "gettext", "kind_name", "subject_of"]
