"""The controller's health for ``/healthz`` and ``/metrics``: its MQTT links and the forwarder.

The links are the process's own (the controller's, the forwarder's, the embedded portal's),
given to the app by the runtime; the forwarder's state comes from its heartbeat in the store
(`captive_portal.reports.health`), as every portal worker reads it too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from captive_portal.reports.health import ForwarderHealth, forwarder_health
from core.health import Check, link_check
from core.mqtt import LinkHealth
from core.store import Store


def checks(links: Iterable[LinkHealth], forwarder: ForwarderHealth) -> list[Check]:
    return [*(link_check(link) for link in links), forwarder.check()]


def current(store: Store, links: Iterable[LinkHealth]) -> tuple[list[LinkHealth], ForwarderHealth]:
    return list(links), forwarder_health(store, time.time())


class HealthCollector(Collector):
    """Link state, drops and loop restarts per MQTT link; the forwarder and its backlog."""

    def __init__(self, links: Iterable[LinkHealth], forwarder: ForwarderHealth):
        self.links = list(links)
        self.forwarder = forwarder

    def collect(self):
        up = GaugeMetricFamily("oasis_mqtt_link_up", "1 while the MQTT link is connected",
                               labels=("client_id",))
        since = GaugeMetricFamily("oasis_mqtt_link_state_since_seconds", "Unix time the link "
                                  "last connected or lost its connection", labels=("client_id",))
        received = CounterMetricFamily("oasis_mqtt_link_received_messages", "Messages that "
                                       "arrived on the link", labels=("client_id",))
        dropped = CounterMetricFamily("oasis_mqtt_link_dropped_messages", "Messages dropped "
                                      "undecoded (too big, not UTF-8, not JSON, too deep)",
                                      labels=("client_id",))
        failures = CounterMetricFamily("oasis_mqtt_link_handler_errors", "Messages whose "
                                       "handler raised", labels=("client_id",))
        restarts = CounterMetricFamily("oasis_mqtt_link_loop_restarts", "Restarts of the "
                                       "link's network loop", labels=("client_id",))
        failovers = CounterMetricFamily("oasis_mqtt_link_failovers", "Connections made to "
                                        "another broker than the previous one",
                                        labels=("client_id",))
        broker = GaugeMetricFamily("oasis_mqtt_link_broker", "1 for the broker the link is "
                                   "on (or trying), per broker it knows",
                                   labels=("client_id", "broker"))
        for link in self.links:
            labels = [link.client_id]
            up.add_metric(labels, 1.0 if link.connected else 0.0)
            since.add_metric(labels, link.since)
            received.add_metric(labels, link.received)
            dropped.add_metric(labels, link.dropped)
            failures.add_metric(labels, link.handler_errors)
            restarts.add_metric(labels, link.loop_restarts)
            failovers.add_metric(labels, link.failovers)
            for known in link.brokers or (link.broker,):
                broker.add_metric([link.client_id, known], 1.0 if known == link.broker else 0.0)
        yield from (up, since, received, dropped, failures, restarts, failovers, broker)
        forwarder = self.forwarder
        yield GaugeMetricFamily("oasis_reports_forwarder_up", "1 while a 940 forwarder beats and "
                                "its MQTT link is connected", value=1.0 if forwarder.ok else 0.0)
        yield GaugeMetricFamily("oasis_reports_outbox_depth", "940 outbox messages the back "
                                "office has not acked", value=forwarder.outbox_depth)
        yield GaugeMetricFamily("oasis_reports_outbox_oldest_unacked_seconds", "How long the "
                                "oldest unacked outbox message has waited (0 when none)",
                                value=forwarder.oldest_unacked_s or 0.0)


__all__ = ["HealthCollector", "checks", "current"]
