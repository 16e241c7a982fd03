"""Routing: each alert's opening, clearing and reminders become messages in the outbox.

One decision per (alert, phase) is written in ``alert_dispatch`` in the transaction that writes
its messages, so an alert is routed once whichever worker or restart gets to it. What holds a
notification back, in this order: a silence covering the alert, a maintenance window covering its
AP, an acknowledgement, an alert that cleared within ``[alerts] notify_delay_s`` (one younger
than that waits); a severity with no channel goes to the digest only. A clearing is
announced only when the opening was, and when the severity's rule asks for it. An open critical
alert nobody acknowledged is announced again every ``[alerts] remind_every_m`` minutes.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from controller.notify import outbox, rota
from controller.notify import rules as rule_rows
from controller.settings import AlertsConfig
from core import alerts as alert_rows
from core import maintenance
from core.store import Store

ROUTED = "routed"
#: Openings and clearings older than this are not announced any more (a worker that was stopped
#: for longer than this does not send a week's news on its return).
ROUTE_WINDOW_S = 2 * 86400

_ALERT = ("SELECT al.id, al.kind, al.severity, al.ap_id, a.site_id, a.name, s.slug, al.branch, "
          "al.scope, al.opened_at, al.cleared_at, al.acked_by, al.acked_at, al.ack_note, "
          "al.detail FROM alerts al LEFT JOIN aps a ON a.id = al.ap_id "
          "LEFT JOIN sites s ON s.id = a.site_id ")


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    severity: str
    ap_id: int | None
    site_id: int | None
    ap_name: str | None
    site: str | None
    branch: str | None
    scope: str | None
    opened_at: float
    cleared_at: float | None
    acked_by: str | None
    acked_at: float | None
    ack_note: str | None
    detail: str | None

    def facts(self, phase: str) -> dict[str, Any]:
        """What a message says about this alert (times as unix seconds)."""
        try:
            detail = json.loads(self.detail) if self.detail else {}
        except ValueError:
            detail = {"text": self.detail}
        return {"alert_id": self.id, "phase": phase, "kind": self.kind,
                "severity": self.severity, "ap_name": self.ap_name, "site": self.site,
                "branch": self.branch, "scope": self.scope, "opened_at": self.opened_at,
                "cleared_at": self.cleared_at, "acked_by": self.acked_by, "detail": detail}


def _undecided(conn: sqlite3.Connection, phase: str, since: float) -> list[Alert]:
    """Alerts opened (``open``) or cleared (``clear``) since ``since`` with no decision for that
    phase yet, oldest first."""
    column = "al.opened_at" if phase == "open" else "al.cleared_at"
    return [Alert(*row) for row in conn.execute(
        _ALERT + f"WHERE {column} >= ? AND NOT EXISTS (SELECT 1 FROM alert_dispatch d "
        "WHERE d.alert_id = al.id AND d.phase = ?) ORDER BY al.id LIMIT 500", (since, phase))]


def _outcome(conn: sqlite3.Connection, alert_id: int, phase: str) -> str | None:
    row = conn.execute("SELECT outcome FROM alert_dispatch WHERE alert_id = ? AND phase = ?",
                       (alert_id, phase)).fetchone()
    return row[0] if row else None


class Router:
    """Decides, for every alert not yet decided, who is told and how."""

    def __init__(self, store: Store, config: AlertsConfig, tz: str):
        self.store = store
        self.config = config
        self.tz = tz

    def route(self, at: float) -> dict[str, int]:
        """Decide every pending opening, clearing and reminder; returns outcomes counted."""
        counted: dict[str, int] = {}
        conn = self.store.conn
        delay = self.config.notify_delay_s
        for alert in _undecided(conn, "open", at - ROUTE_WINDOW_S):
            if delay and alert.cleared_at is None and at - alert.opened_at < delay:
                continue  # not yet: it may clear within the delay
            self._decide(alert, "open", at, counted)
        for alert in _undecided(conn, "clear", at - ROUTE_WINDOW_S):
            self._decide(alert, "clear", at, counted)
        if self.config.remind_every_m > 0:
            every = self.config.remind_every_m * 60
            for alert in [Alert(*row) for row in conn.execute(
                    _ALERT + "JOIN alert_dispatch d ON d.alert_id = al.id AND d.phase = 'open' "
                    "AND d.outcome = ? WHERE al.cleared_at IS NULL AND al.acked_at IS NULL "
                    "AND al.severity = 'critical' AND al.opened_at <= ?",
                    (ROUTED, at - every))]:
                self._decide(alert, f"remind-{int((at - alert.opened_at) // every)}", at,
                             counted)
        return counted

    def _hold(self, conn: sqlite3.Connection, alert: Alert, phase: str, at: float) -> str | None:
        """Why this phase of ``alert`` is not sent now, or None."""
        if (phase == "open" and alert.cleared_at is not None
                and alert.cleared_at - alert.opened_at < self.config.notify_delay_s):
            return "short"  # it cleared within the delay
        if phase != "open":
            opening = _outcome(conn, alert.id, "open")
            if opening != ROUTED:
                return "held"  # nobody was told it opened
        if any(s.covers(alert.id, alert.kind, alert.ap_id, alert.site_id, at)
               for s in alert_rows.silences_at(conn, at)):
            return "silenced"
        if phase != "clear":
            if alert.ap_id is not None and alert.ap_id in maintenance.covered_aps(conn, at):
                return "maintenance"
            if alert.acked_at is not None:
                return "acked"
        return None

    def _decide(self, alert: Alert, phase: str, at: float, counted: dict[str, int]) -> None:
        with self.store.transaction() as conn:
            if _outcome(conn, alert.id, phase) is not None:
                return  # another worker decided it meanwhile
            rule = rule_rows.rules(conn)[alert.severity]
            outcome = self._hold(conn, alert, phase, at)
            if outcome is None and (not rule.channels or (phase == "clear" and not rule.on_clear)):
                outcome = "digest"
            if outcome is None:
                outcome = ROUTED
                kind = phase.split("-")[0]
                facts = alert.facts(kind)
                for channel, destination, locale in self._recipients(conn, rule, at):
                    outbox.enqueue(conn, dedupe=f"alert:{alert.id}:{phase}:{channel}:"
                                   f"{destination}", channel=channel, destination=destination,
                                   locale=locale, kind=kind, payload=facts, at=at,
                                   alert_id=alert.id)
            conn.execute("INSERT INTO alert_dispatch (alert_id, phase, decided_at, outcome) "
                         "VALUES (?, ?, ?, ?)", (alert.id, phase, at, outcome))
        counted[outcome] = counted.get(outcome, 0) + 1

    def _recipients(self, conn: sqlite3.Connection, rule: rule_rows.Rule,
                    at: float) -> list[tuple[str, str, str]]:
        people = rota.on_call(conn, at, self.tz)
        found: list[tuple[str, str, str]] = []
        if rule.email:
            found += [("email", p.email, p.locale) for p in people if p.email]
        if rule.sms:
            found += [("sms", p.phone, p.locale) for p in people if p.phone]
        if rule.webhook:
            found += [("webhook", str(w.id), "en") for w in rule_rows.webhooks(conn) if w.active]
        return found


def decisions(store: Store, alert_id: int) -> list[dict[str, Any]]:
    """What was decided for one alert, phase by phase."""
    return list(store.db.query("SELECT phase, decided_at, outcome FROM alert_dispatch "
                               "WHERE alert_id = ? ORDER BY decided_at, phase", [alert_id]))


__all__ = ["ROUTED", "Alert", "Router", "decisions"]
