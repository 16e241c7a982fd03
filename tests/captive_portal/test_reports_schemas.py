"""Every 940 payload, as really published through Mosquitto, matches docs/schemas/report*.json."""

from __future__ import annotations

import threading
import time

import pytest

from agents.backoffice.office import BackOffice
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.service import ReportsService
from captive_portal.reports.workflow import transition
from core.mqtt import MqttLink
from tests import schemas
from tests.captive_portal.reports_pipeline import all_acked, config_with, mqtt_config
from tests.support import wait_for

NAMES = {"reports/new": "report", "reports/updates": "report-update",
         "reports/escalations": "report-escalation", "reports/ack": "report-ack",
         "reports/status": "report-status", "reports/status-ack": "report-status-ack"}


@pytest.mark.slow
def test_every_published_report_message_matches_its_schema(store, mosquitto, tmp_path):
    seen: dict[str, list] = {}
    lock = threading.Lock()

    def record(message):
        with lock:
            seen.setdefault(message.topic, []).append(message.payload)

    tap = MqttLink(mqtt_config(mosquitto), client_id="schema-tap")
    tap_subscription = tap.subscribe("reports/#", record)
    tap.start()
    assert tap_subscription.wait_active(10)
    office = BackOffice(tmp_path / "office.db", mqtt_config(mosquitto))
    office.start()
    config = config_with(level1_contacts="+966500000001")
    service = ReportsService(store.path, mqtt_config(mosquitto), config, poll_s=0.05)
    service.start()
    try:
        tracking = file_report(store, NewReport(
            category="parks", description="مقعد مكسور", channel="portal", site="park-1",
            phone="0551234567", phone_verified=True, lat=25.3, lon=49.5,
            location_source="browser"), config).tracking
        overdue = file_report(store, NewReport(category="wifi", description="No signal",
                                               channel="open311", address="Gate 3"),
                              config).tracking
        store.conn.execute("UPDATE reports SET due_at = ? WHERE tracking = ?",
                           (time.time() - 10, overdue))
        wait_for(lambda: all_acked(store, 3), timeout=20, what="report and escalation acked")
        office.move(tracking, "resolved", note="Bench replaced")
        wait_for(lambda: office.pending_status_updates() == 0, timeout=20, what="status acked")
        transition(store, tracking, "reopened", actor="citizen", now=time.time(), config=config)
        service.forwarder.wake()
        wait_for(lambda: all_acked(store, 4), timeout=20, what="update acked")
        wait_for(lambda: set(NAMES) <= set(seen), timeout=10, what="every topic seen")
    finally:
        service.stop()
        office.stop()
        tap.stop()
    for topic, name in NAMES.items():
        validator = schemas.validator(name, formats=True)
        for payload in seen[topic]:
            errors = [e.message for e in validator.iter_errors(payload)]
            assert not errors, f"{topic}: {errors} in {payload}"


@pytest.mark.parametrize("name, payload", [
    ("report", {"schema": "report/1", "id": "940-2026-000001"}),
    ("report-ack", {"schema": "report-ack/1", "sent_at": "2026-11-22T10:00:00+00:00", "ids": []}),
    ("report-status", {"schema": "report-status/1", "sent_at": "2026-11-22T10:00:00+00:00",
                       "update_id": "u", "id": "940-2026-000001", "status": "received"}),
])
def test_schemas_refuse_wrong_payloads(name, payload):
    assert list(schemas.validator(name, formats=True).iter_errors(payload))
