"""Status updates and escalations through a real Mosquitto: back office -> controller -> SMS,
applied once each, surviving a controller outage; escalations reach the back office."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from agents.backoffice import cli as backoffice_cli
from agents.backoffice.office import BackOffice
from captive_portal.reports.intake import NewReport, file_report
from core.contracts.reports import TOPIC_ESCALATIONS
from captive_portal.reports.records import get_report, timeline
from captive_portal.reports.service import ReportsService
from tests.captive_portal.reports_pipeline import FAST, all_acked, config_with, mqtt_config, sms_config
from tests.support import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def office(tmp_path, mosquitto):
    backoffice = BackOffice(tmp_path / "backoffice.db", mqtt_config(mosquitto),
                            resend_after_s=0.5)
    backoffice.start()
    yield backoffice
    backoffice.stop()


def _service(store, broker, tmp_path, config=FAST) -> ReportsService:
    service = ReportsService(store.path, mqtt_config(broker), config,
                             sms_config=sms_config(tmp_path), poll_s=0.05)
    service.start()
    return service


def _file(store, locale="ar"):
    return file_report(store, NewReport(category="water", description="تسرب ماء من الرشاش",
                                        channel="portal", site="park-1", phone="0551234567",
                                        phone_verified=True, locale=locale), FAST).tracking


def _status(store, tracking):
    return get_report(store, tracking=tracking).status


def test_status_updates_reach_the_citizen_once_in_their_language(store, mosquitto, tmp_path,
                                                                 office):
    service = _service(store, mosquitto, tmp_path)
    try:
        tracking = _file(store)
        wait_for(lambda: all_acked(store, 1), timeout=20, what="report acked")
        assert _status(store, tracking) == "forwarded"
        office.move(tracking, "acknowledged")
        office.move(tracking, "assigned", assigned_to="Fahad Al-Mulla")
        office.move(tracking, "in_progress", note="الفريق في الموقع")
        office.move(tracking, "resolved")
        wait_for(lambda: _status(store, tracking) == "resolved", timeout=20, what="resolved")
        wait_for(lambda: office.pending_status_updates() == 0, timeout=20,
                 what="status updates acked")
        wait_for(lambda: store.conn.execute(
            "SELECT count(*) FROM report_notifications WHERE handed_at IS NULL").fetchone()[0]
            == 0, timeout=20, what="SMS handed over")
        bodies = [r for r in store.conn.execute(
            "SELECT purpose, state, body FROM sms_messages ORDER BY id")]
        # "forwarded" is our own bookkeeping: the citizen hears from the back office's moves
        assert [b[0] for b in bodies] == ["report_received"] + ["report_status"] * 3 + [
            "closure_code"]
        assert all(state == "submitted" for _, state, _ in bodies)
        assert "Fahad Al-Mulla" in bodies[2][2] and "الفريق في الموقع" in bodies[3][2]
        assert "تمت معالجة بلاغك" in bodies[-1][2]
        events = [e.status for e in timeline(store, get_report(store, tracking=tracking).id)
                  if e.kind == "status"]
        assert events == ["received", "forwarded", "acknowledged", "assigned", "in_progress",
                          "resolved"]
    finally:
        service.stop()


def test_a_status_update_sent_while_the_controller_is_down_arrives_after(store, mosquitto,
                                                                        tmp_path, office):
    service = _service(store, mosquitto, tmp_path)
    tracking = _file(store, locale="en")
    wait_for(lambda: all_acked(store, 1), timeout=20, what="report acked")
    service.stop()
    office.move(tracking, "acknowledged")
    office.move(tracking, "rejected", note="Duplicate of an earlier report")
    mosquitto.restart(hard=False)
    service = _service(store, mosquitto, tmp_path)
    try:
        wait_for(lambda: _status(store, tracking) == "rejected", timeout=30, what="rejected")
        wait_for(lambda: office.pending_status_updates() == 0, timeout=20, what="acked")
        outcomes = dict(store.conn.execute(
            "SELECT outcome, count(*) FROM report_status_updates GROUP BY outcome"))
        assert outcomes == {"applied": 2}
    finally:
        service.stop()


def test_escalations_are_published_and_acked(store, mosquitto, tmp_path, office):
    config = config_with(level1_contacts="+966500000001")
    tracking = _file(store)
    store.conn.execute("UPDATE reports SET due_at = ? WHERE tracking = ?",
                       (time.time() - 60, tracking))
    service = _service(store, mosquitto, tmp_path, config)
    try:
        wait_for(lambda: f"{tracking}:e1" in office.received_ids(TOPIC_ESCALATIONS),
                 timeout=20, what="escalation at the back office")
        wait_for(lambda: all_acked(store, 2), timeout=20, what="escalation acked")
        assert get_report(store, tracking=tracking).escalation_level == 1
        wait_for(lambda: store.conn.execute(
            "SELECT count(*) FROM sms_messages WHERE purpose = 'escalation' AND to_number = "
            "'+966500000001'").fetchone()[0] == 1, timeout=20, what="contact told")
    finally:
        service.stop()


def test_a_one_off_move_beside_the_running_back_office_leaves_it_acking(store, mosquitto,
                                                                        tmp_path, office):
    """`oasis backoffice move` next to a running back office: its own client, no takeover."""
    service = _service(store, mosquitto, tmp_path)
    try:
        first = _file(store)
        wait_for(lambda: all_acked(store, 1), timeout=10)
        cli = SimpleNamespace(config=SimpleNamespace(mqtt=mqtt_config(mosquitto),
                                                     resolve_path=lambda p: tmp_path / p))
        one_off = backoffice_cli._open(cli, "cli.db", False, one_off=True)  # as the CLI does
        assert one_off.link.client_id != "oasis-backoffice"
        one_off.start()
        try:
            update = one_off.move(first, "acknowledged")
            assert one_off.wait_status_acked(update, 10)
            assert one_off.received_ids() == set() or first not in one_off.received_ids()
        finally:
            one_off.stop()
        wait_for(lambda: _status(store, first) == "acknowledged", timeout=10)
        second = _file(store)  # the running back office still holds its session: it acks this
        wait_for(lambda: all_acked(store, 2), timeout=10)
        assert {first, second} <= set(office.received_ids())
    finally:
        service.stop()
