"""Exactly-once effect at the back office through a real Mosquitto, whatever fails.

Each test files N reports, forwards them while something breaks (the broker is killed, the back
office goes away, the forwarder process is SIGKILLed) and then checks that the back office holds
all N, none twice after dedup, and that every outbox row ended acknowledged.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import pytest

from agents.backoffice.office import BackOffice
from core.contracts.reports import TOPIC_NEW
from captive_portal.reports.service import ReportsService
from tests.captive_portal.reports_pipeline import FAST, all_acked, file_many, mqtt_config, outbox_states
from tests.support import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def office(tmp_path, mosquitto):
    backoffice = BackOffice(tmp_path / "backoffice.db", mqtt_config(mosquitto))
    backoffice.start()
    assert backoffice.link.wait_connected(10)
    yield backoffice
    backoffice.stop()


def _service(store, broker) -> ReportsService:
    return ReportsService(store.path, mqtt_config(broker), FAST, poll_s=0.05)


def _assert_exactly_once(store, office, trackings) -> None:
    wait_for(lambda: all_acked(store, len(trackings)), timeout=90, what="every outbox row acked")
    received = office.received_ids(TOPIC_NEW)
    assert len(received) == len(set(received)) == len(trackings)
    assert set(received) == set(trackings)
    assert outbox_states(store) == {"acknowledged": len(trackings)}
    forwarded = store.conn.execute(
        "SELECT count(*) FROM reports WHERE status = 'forwarded'").fetchone()[0]
    assert forwarded == len(trackings)


def test_all_reports_arrive_once_while_the_broker_is_killed_and_restarted(store, mosquitto,
                                                                          office):
    service = _service(store, mosquitto)
    service.start()
    try:
        trackings = file_many(store, 150)
        service.forwarder.wake()
        mosquitto.restart(hard=True)
        trackings += file_many(store, 150)
        service.forwarder.wake()
        mosquitto.restart(hard=True)
        trackings += file_many(store, 100)
        _assert_exactly_once(store, office, trackings)
    finally:
        service.stop()


def test_reports_wait_for_a_back_office_that_is_offline(store, mosquitto, tmp_path, office):
    service = _service(store, mosquitto)
    service.start()
    try:
        first = file_many(store, 100)
        wait_for(lambda: all_acked(store, 100), timeout=30, what="first batch acked")
        office.stop()
        later = file_many(store, 200)
        service.forwarder.wake()
        wait_for(lambda: service.forwarder.published >= 300, timeout=30,
                 what="published while the back office is away")
        assert outbox_states(store).get("acknowledged") == 100
        returned = BackOffice(tmp_path / "backoffice.db", mqtt_config(mosquitto))
        returned.start()
        try:
            _assert_exactly_once(store, returned, first + later)
        finally:
            returned.stop()
    finally:
        service.stop()


def _forwarder_process(tmp_path, store, broker) -> subprocess.Popen:
    config = tmp_path / "oasis.toml"
    config.write_text(f'[store]\npath = "{store.path}"\nkey_file = "{tmp_path}/k.key"\n'
                      f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    env = {**os.environ, "OASIS_REPORTS_RESEND_AFTER_S": "1", "OASIS_REPORTS_RESEND_MAX_S": "2",
           "OASIS_REPORTS_BATCH_SIZE": "20", "OASIS_SMS_OUTBOX": str(tmp_path / "sms.jsonl")}
    env.pop("OASIS_CONFIG", None)
    code = ("from controller.cli import cli; from controller.cli.reports import reports; "
            "cli.add_command(reports); cli()")
    with (tmp_path / "forwarder.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-c", code, "--config", str(config), "reports",
                                 "forward"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                cwd=os.getcwd())


def test_all_reports_arrive_once_when_the_forwarder_is_killed_mid_stream(store, mosquitto,
                                                                          tmp_path, office):
    trackings = file_many(store, 1500)
    process = _forwarder_process(tmp_path, store, mosquitto)
    try:
        wait_for(lambda: outbox_states(store).get("acknowledged", 0) >= 100, timeout=60,
                 what="forwarding under way")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        acked_at_kill = outbox_states(store).get("acknowledged", 0)
        assert acked_at_kill < len(trackings), "the forwarder finished before it was killed"
        more = threading.Thread(target=lambda: trackings.extend(file_many(store, 100)))
        more.start()
        process = _forwarder_process(tmp_path, store, mosquitto)
        more.join()
        _assert_exactly_once(store, office, trackings)
    finally:
        process.kill()
        process.wait(10)


def test_a_puback_without_a_subscriber_is_not_delivery(store, mosquitto, tmp_path):
    """Before the back office ever subscribed, the broker acks and drops (0x10, no matching
    subscribers); only the back office's own ack ends a report's journey."""
    service = _service(store, mosquitto)
    service.start()
    try:
        trackings = file_many(store, 50)
        service.forwarder.wake()
        # Every report published and left sent (the broker's acks deliver nothing); the
        # forwarder's count alone may include re-sends of reports filed while it ran.
        wait_for(lambda: outbox_states(store) == {"sent": 50}, timeout=20,
                 what="every report published")
        late = BackOffice(tmp_path / "late.db", mqtt_config(mosquitto))
        late.start()
        try:
            _assert_exactly_once(store, late, trackings)
        finally:
            late.stop()
    finally:
        service.stop()
