"""The 940 pipeline's health as alerts, from a real backlog: reports forwarded through a real
Mosquitto that no back office reads, re-sent with no ack until the alert opens (and the on-call
person is mailed), then acked by a back office that comes online, and the alert clears."""

from __future__ import annotations

import time

import pytest

from agents.backoffice.office import BackOffice
from captive_portal.reports.service import ReportsService
from controller.monitoring import reports_health
from controller.notify import rota
from core import alerts as alert_rows
from tests.captive_portal.reports_pipeline import FAST, all_acked, file_many, mqtt_config
from tests.controller.notify_harness import worker
from tests.peers_smtp import smtp_server  # noqa: F401
from tests.support import wait_for


@pytest.fixture
def service(store, mosquitto):
    running = ReportsService(store.path, mqtt_config(mosquitto), FAST, poll_s=0.05)
    running.start()
    yield running
    running.stop()


def sends(store) -> int:
    return store.conn.execute("SELECT coalesce(max(attempts), 0) FROM report_outbox").fetchone()[0]


def test_reports_resent_with_no_ack_raise_an_alert_that_clears_when_the_office_acks(
        store, config, secrets, mosquitto, service, smtp_server, tmp_path):  # noqa: F811
    config.mail.host, config.mail.port = smtp_server.host, smtp_server.port
    config.alerts.report_resends = 3
    rota.add_person(store, actor="admin", name="Sam", email="sam@amanah.example", locale="en")
    w = worker(store, config, secrets, time.time, None, watch_reports=True)
    trackings = file_many(store, 2, description="Deep pothole at the gate")
    service.forwarder.wake()
    wait_for(lambda: service.forwarder.link.health().connected, timeout=10, what="connected")
    w.run_once(store)
    assert alert_rows.open_counts(store) == {}  # sent, waiting: not yet a problem

    wait_for(lambda: sends(store) >= 3, timeout=30, what="three sends with no ack")
    w.run_once(store)
    (alert,) = alert_rows.alerts(store, state="open")
    assert (alert["kind"], alert["scope"], alert["severity"]) == (
        "report_unacked", "reports", "critical")
    assert alert["detail"]["most_sends"] >= 3
    (_, mail), = smtp_server.wait(1)
    assert "940 report not acknowledged by the back office" in mail["Subject"]
    health = reports_health.pipeline_health(store, time.time())
    assert health.forwarder.outbox_depth == 2 and health.forwarder.connected

    office = BackOffice(tmp_path / "backoffice.db", mqtt_config(mosquitto))
    office.start()
    try:
        wait_for(lambda: all_acked(store, len(trackings)), timeout=30, what="acked")
    finally:
        office.stop()
    w.run_once(store)
    assert alert_rows.open_counts(store) == {}
    (_, cleared), = [m for m in smtp_server.wait(2)[1:]]
    assert "Cleared" in cleared["Subject"]


def test_the_broker_going_away_raises_link_down_and_its_return_clears_it(
        store, config, mosquitto, service):
    config.alerts.report_link_down_s = 30
    wait_for(lambda: reports_health.pipeline_health(store, time.time()).forwarder.ok,
             timeout=10, what="a connected forwarder's heartbeat")
    assert reports_health.check(store, config.alerts, time.time()) == {}
    mosquitto.stop()
    wait_for(lambda: not reports_health.pipeline_health(store, time.time()).forwarder.connected,
             timeout=10, what="the heartbeat saying the link is down")
    assert reports_health.check(store, config.alerts, time.time()) == {}  # not for 30 s yet
    later = time.time() + 31
    assert reports_health.check(store, config.alerts, later) == {"report_link_down": "opened"}
    (alert,) = alert_rows.alerts(store, state="open")
    assert alert["severity"] == "critical" and alert["detail"]["down_for_s"] >= 30
    mosquitto.start()
    wait_for(lambda: reports_health.pipeline_health(store, time.time()).forwarder.ok,
             timeout=20, what="the forwarder reconnected")
    assert reports_health.check(store, config.alerts, time.time()) == {
        "report_link_down": "cleared"}


def test_a_controller_starting_up_does_not_judge_a_link_it_has_not_watched(
        store, config, mosquitto, service):
    config.alerts.report_link_down_s = 30
    wait_for(lambda: reports_health.pipeline_health(store, time.time()).forwarder.ok,
             timeout=10, what="a heartbeat")
    service.stop()  # the last beat says "stopped", as after a controller's shutdown
    an_hour_later = time.time() + 3600
    assert reports_health.check(store, config.alerts, an_hour_later,
                                watching_since=an_hour_later - 5) == {}
    assert reports_health.check(store, config.alerts, an_hour_later + 30,
                                watching_since=an_hour_later - 5) == {
        "report_link_down": "opened"}
