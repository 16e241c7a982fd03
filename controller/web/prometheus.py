"""A Prometheus collector over the poller's snapshot.

Built per scrape from the values at hand, so a scrape reads the same snapshot as the dashboard and
never polls a device. Label sets: ``ap``, ``site``, ``platform`` on every per-AP sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from controller.monitoring.alerts import AlertKind
from controller.monitoring.published import SnapshotReader
from controller.monitoring.snapshot import ApState
from reporting.gauges import Gauge

AP_LABELS = ("ap", "site", "platform")
#: Kinds the alert engine opens; each is exported (as 0 when none is open) so dashboards and
#: alert rules see a series even on a quiet day.
ALERT_KINDS = tuple(kind.value for kind in AlertKind)


class SnapshotCollector(Collector):
    def __init__(self, snapshot: SnapshotReader, aps: Iterable[Mapping], open_alerts: Mapping[str, int]):
        self.snapshot = snapshot
        self.aps = list(aps)
        self.open_alerts = dict(open_alerts)

    def collect(self):
        up = GaugeMetricFamily("oasis_ap_up", "1 if the AP answered its last poll", labels=AP_LABELS)
        state = GaugeMetricFamily("oasis_ap_state", "1 for the AP's current state",
                                  labels=(*AP_LABELS, "state"))
        clients = GaugeMetricFamily("oasis_ap_clients", "Associated clients (absent when the "
                                    "platform offers no count)", labels=AP_LABELS)
        in_bps = GaugeMetricFamily("oasis_ap_in_bps", "Bits per second arriving on the AP's "
                                   "uplink: its visitors' download", labels=AP_LABELS)
        out_bps = GaugeMetricFamily("oasis_ap_out_bps", "Bits per second leaving on the AP's "
                                    "uplink: its visitors' upload", labels=AP_LABELS)
        radio_bps = GaugeMetricFamily("oasis_ap_radio_bps", "Bits per second on one radio, by "
                                      "direction (out: sent to clients, in: from them)",
                                      labels=(*AP_LABELS, "interface", "direction"))
        link_up = GaugeMetricFamily("oasis_ap_link_up", "1 when the AP reports the radio or "
                                    "uplink up (ifOperStatus), 0 when down",
                                    labels=(*AP_LABELS, "interface", "role"))
        errors = GaugeMetricFamily("oasis_ap_errors_per_second", "Interface errors per second",
                                   labels=AP_LABELS)
        uptime = GaugeMetricFamily("oasis_ap_uptime_seconds", "The AP's sysUpTime in seconds",
                                   labels=AP_LABELS)
        missing = GaugeMetricFamily("oasis_ap_missing_objects", "Objects the AP did not give at "
                                    "its last poll, by reason (an error-status such as genErr, "
                                    "or absent)", labels=(*AP_LABELS, "reason"))
        truncated = GaugeMetricFamily("oasis_ap_interfaces_truncated", "1 when the AP's "
                                      "interface table did not end within the poll's limits",
                                      labels=AP_LABELS)
        for ap in self.aps:
            labels = [ap["name"], ap["site"], ap["platform"]]
            status = self.snapshot.get(ap["id"])
            current = status.state if status else ApState.UNKNOWN
            up.add_metric(labels, 1.0 if status is not None
                          and current in (ApState.UP, ApState.DEGRADED)
                          and status.consecutive_failures == 0 else 0.0)
            for candidate in ApState:
                state.add_metric([*labels, candidate.value], 1.0 if candidate == current else 0.0)
            if status is None:
                continue
            for family, value in ((clients, status.clients), (in_bps, status.in_bps),
                                  (out_bps, status.out_bps), (errors, status.errors_ps),
                                  (uptime, status.uptime_s)):
                if value is not None:
                    family.add_metric(labels, float(value))
            for interface in status.interfaces:
                if interface.role not in ("radio", "uplink"):
                    continue
                if interface.oper_up is not None:
                    link_up.add_metric([*labels, interface.name, interface.role],
                                       1.0 if interface.oper_up else 0.0)
                if interface.role != "radio":
                    continue
                for direction, rate in (("in", interface.in_bps), ("out", interface.out_bps)):
                    if rate is not None:
                        radio_bps.add_metric([*labels, interface.name, direction], rate)
            if status.state in (ApState.UP, ApState.DEGRADED):
                truncated.add_metric(labels, 1.0 if status.interfaces_truncated else 0.0)
                reasons: dict[str, int] = {}
                for entry in status.missing:
                    reason = entry.rsplit(": ", 1)[-1]
                    reasons[reason] = reasons.get(reason, 0) + 1
                for reason, count in sorted(reasons.items()):
                    missing.add_metric([*labels, reason], float(count))
        yield from (up, state, clients, in_bps, out_bps, radio_bps, link_up, errors, uptime,
                    missing, truncated)
        yield from self._poller()
        alerts = GaugeMetricFamily("oasis_alerts_open", "Open alerts by kind", labels=("kind",))
        for kind in sorted(set(ALERT_KINDS) | set(self.open_alerts)):
            alerts.add_metric([kind], float(self.open_alerts.get(kind, 0)))
        yield alerts

    def _poller(self):
        cycle = self.snapshot.last_cycle
        duration = GaugeMetricFamily("oasis_poll_cycle_seconds", "Duration of the last poll cycle")
        answered = GaugeMetricFamily("oasis_poll_aps_answered", "APs that answered in the last "
                                     "poll cycle")
        if cycle is not None:
            duration.add_metric([], cycle.duration_s)
            answered.add_metric([], float(cycle.answered))
        yield duration
        yield answered
        if self.snapshot.pollers:
            live = GaugeMetricFamily("oasis_pollers_live", "Poller processes whose membership "
                                     "lease is live (they split the APs)")
            live.add_metric([], float(sum(1 for p in self.snapshot.pollers if p.live)))
            yield live
        yield CounterMetricFamily("oasis_traps_received", "SNMP traps received",
                                  value=self.snapshot.traps_received)
        yield CounterMetricFamily("oasis_traps_unknown_source", "SNMP traps from addresses that "
                                  "are not a known AP (counted, not trusted)",
                                  value=self.snapshot.traps_unknown_source)
        dropped = CounterMetricFamily("oasis_traps_dropped", "Datagrams the trap receiver "
                                      "dropped: malformed (undecodable), bad_community, or "
                                      "v3_refused (SNMPv3 that failed USM)",
                                      labels=("reason",))
        dropped.add_metric(["malformed"], self.snapshot.traps_malformed)
        dropped.add_metric(["bad_community"], self.snapshot.traps_bad_community)
        dropped.add_metric(["v3_refused"], self.snapshot.traps_v3_refused)
        yield dropped


class KpiCollector(Collector):
    """The KPI gauges (`reporting.gauges`: kept in the store, recomputed every few minutes)."""

    def __init__(self, gauges: Sequence[Gauge]):
        self.gauges = list(gauges)

    def collect(self):
        families: dict[str, GaugeMetricFamily] = {}
        for gauge in self.gauges:
            family = families.get(gauge.name)
            if family is None:
                family = families[gauge.name] = GaugeMetricFamily(
                    gauge.name, gauge.help, labels=sorted(gauge.labels))
            family.add_metric([gauge.labels[k] for k in sorted(gauge.labels)], gauge.value)
        yield from families.values()
