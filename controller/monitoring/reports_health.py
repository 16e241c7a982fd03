"""The 940 pipeline's health as alerts: the forwarder's outbox towards the back office and its
MQTT link, read from the store (`captive_portal.reports.health`), as the dashboard shows them.

Three alerts of scope ``reports`` (neither an AP nor a branch), each opening when its condition
holds and clearing when it no longer does:

- ``report_backlog`` (warning): more than ``[alerts] report_backlog`` messages wait for the back
  office's ack;
- ``report_unacked`` (critical): the oldest has waited more than ``report_oldest_m`` minutes, or
  one has been sent ``report_resends`` times with no ack (an urgent report re-sent 6 times);
- ``report_link_down`` (critical): the forwarder has not been running and connected to the broker
  for ``report_link_down_s`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from captive_portal.reports import health as forwarder
from captive_portal.reports import outbox as report_outbox
from controller.settings import AlertsConfig
from core import alerts as alert_rows
from core.store import Store

SCOPE = "reports"


@dataclass(frozen=True)
class PipelineHealth:
    forwarder: forwarder.ForwarderHealth
    most_sends: int
    #: Seconds the link has been down (0 while up; None when no forwarder ever ran here).
    down_for_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {**self.forwarder.as_dict(), "most_sends_unacked": self.most_sends,
                "down_for_s": None if self.down_for_s is None else round(self.down_for_s, 1)}


def pipeline_health(store: Store, at: float) -> PipelineHealth:
    health = forwarder.forwarder_health(store, at)
    most = report_outbox.most_sends_unacked(store.conn)
    if health.beat_at is None:
        down = None
    elif health.ok:
        down = 0.0
    else:
        # Down since its link dropped (it says when), or since its last beat when it stopped.
        since = health.since if health.running and health.since is not None else health.beat_at
        down = max(0.0, at - since)
    return PipelineHealth(health, most, down)


def verdicts(health: PipelineHealth, config: AlertsConfig) -> dict[str, tuple[bool, str, dict]]:
    """Each pipeline alert kind: (holds, severity, detail)."""
    f = health.forwarder
    oldest = f.oldest_unacked_s
    stale = oldest is not None and oldest > config.report_oldest_m * 60
    resent = health.most_sends >= config.report_resends
    down = health.down_for_s is not None and health.down_for_s >= config.report_link_down_s
    return {
        "report_backlog": (f.outbox_depth > config.report_backlog, "warning",
                           {"waiting": f.outbox_depth, "threshold": config.report_backlog}),
        "report_unacked": (stale or resent, "critical",
                           {"oldest_waiting_s": None if oldest is None else round(oldest),
                            "most_sends": health.most_sends,
                            "threshold_m": config.report_oldest_m,
                            "threshold_sends": config.report_resends}),
        "report_link_down": (down, "critical",
                             {"down_for_s": None if health.down_for_s is None
                              else round(health.down_for_s), "last_error": f.last_error}),
    }


def check(store: Store, config: AlertsConfig, at: float,
          watching_since: float | None = None) -> dict[str, str]:
    """Open or clear the pipeline's alerts from its health at ``at``; returns what changed.

    ``watching_since`` is when the caller started watching: the link is not judged down for
    longer than that, so a controller starting up (whose forwarder has not beaten yet, after a
    stop an hour ago) does not raise and clear a link alert in its first seconds.
    """
    health = pipeline_health(store, at)
    if watching_since is not None and health.down_for_s is not None:
        health = replace(health, down_for_s=min(health.down_for_s, max(0.0, at - watching_since)))
    changed = {}
    for kind, (holds, severity, detail) in verdicts(health, config).items():
        # A read first: most passes change nothing, and need no write transaction. An open
        # alert keeps the detail it opened with; the dashboard shows the values of the moment.
        if holds == (alert_rows.find_open(store.conn, kind, scope=SCOPE) is not None):
            continue
        change = alert_rows.set_scope_alert(store, SCOPE, kind, holds, detail, severity)
        if change:
            changed[kind] = change
    return changed


__all__ = ["SCOPE", "PipelineHealth", "check", "pipeline_health", "verdicts"]
