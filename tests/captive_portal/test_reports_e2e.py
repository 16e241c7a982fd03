"""A report's whole life through real Mosquitto: filed on the portal with a verified phone,
forwarded and acked, moved by the back office, texted to the citizen in Arabic, confirmed on the
portal with the closure code, and the back office told."""

from __future__ import annotations

import re

import pytest

from agents.backoffice.office import BackOffice
from captive_portal.reports.service import ReportsService
from core.contracts.reports import TOPIC_NEW, TOPIC_UPDATES
from tests.captive_portal.portal_harness import Portal, code_in
from tests.captive_portal.reports_pipeline import FAST, mqtt_config
from tests.support import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.store_backed]


def test_from_the_portal_to_the_back_office_and_back(tmp_path, mosquitto):
    site = Portal(tmp_path)
    office = BackOffice(tmp_path / "office.db", mqtt_config(mosquitto))
    office.start()
    service = ReportsService(site.store_path, mqtt_config(mosquitto), FAST,
                             sms=site.app.extensions["oasis_portal"].sms, poll_s=0.05)
    service.attach_portal(site.app)
    service.start()
    try:
        tracking = site.file_report_with_phone()
        wait_for(lambda: tracking in office.received_ids(TOPIC_NEW), timeout=20,
                 what="report at the back office")
        for status in ("acknowledged", "in_progress", "resolved"):
            office.move(tracking, status, note="تم استبدال المصباح" if status == "resolved"
                        else None)

        def closure_sms():
            rows = site.store.conn.execute(
                "SELECT body FROM sms_messages WHERE purpose = 'closure_code'").fetchall()
            return rows[0][0] if rows else None
        body = wait_for(closure_sms, timeout=20, what="closure code texted")
        assert tracking in body and "تمت معالجة بلاغك" in body
        answered = site.answer_closure(tracking, code_in(body))
        assert answered.status_code == 200
        assert 'data-status="closed"' in answered.get_data(as_text=True)
        wait_for(lambda: any(i.startswith(f"{tracking}:u") for i in
                             office.received_ids(TOPIC_UPDATES)), timeout=20,
                 what="the back office hears of the confirmation")
        expected = ["report_phone_code", "report_received", "report_status", "report_status",
                    "closure_code", "report_status"]  # the last one: "closed, thank you"
        wait_for(lambda: [r[0] for r in site.store.conn.execute(
            "SELECT purpose FROM sms_messages ORDER BY id")] == expected, timeout=20,
            what="every SMS handed to the gateway")
        assert re.search(r"940-\d{4}-\d{6}", body)
    finally:
        service.stop()
        office.stop()
