"""The 940 pipeline on two real Mosquittos: the forwarder, the status consumer and the back office
move together to the broker that is up, and a report filed while both brokers were down is
delivered once, when one of them returns (the outbox keeps it; nothing is kept in a broker)."""

from __future__ import annotations

import pytest

from agents.backoffice.office import BackOffice
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.records import get_report
from captive_portal.reports.service import ReportsService
from core.config import MqttConfig
from core.contracts.reports import TOPIC_NEW
from tests.captive_portal.reports_pipeline import FAST, all_acked, outbox_states
from tests.support import wait_for


def address(broker) -> str:
    return f"{broker.host}:{broker.port}"


@pytest.fixture
def pipeline(store, mosquitto_pair, tmp_path):
    """The forwarder's service and the back office, both knowing brokers A and B, on A."""
    a, b = mosquitto_pair
    mqtt = MqttConfig(brokers=[address(a), address(b)])
    office = BackOffice(tmp_path / "backoffice.db", mqtt, resend_after_s=0.5)
    service = ReportsService(store.path, mqtt, FAST, poll_s=0.05)
    office.start()
    service.start()
    try:
        assert office.link.wait_connected(10) and service.link.wait_connected(10)
        assert office.link.broker == service.link.broker == address(a)
        yield service, office
    finally:
        service.stop()
        office.stop()


def _file(store) -> str:
    return file_report(store, NewReport(category="lighting", description="Lamp is out",
                                        channel="open311", lat=25.38, lon=49.59,
                                        locale="ar"), FAST).tracking


def test_a_report_filed_while_both_brokers_were_down_arrives_once_one_returns(
        store, mosquitto_pair, pipeline):
    a, b = mosquitto_pair
    service, office = pipeline
    first = _file(store)
    service.forwarder.wake()
    wait_for(lambda: all_acked(store, 1), timeout=10, what="the first report acked via A")

    a.kill()
    b.kill()
    wait_for(lambda: not service.link.connected and not office.link.connected, timeout=10,
             what="both links down")
    during = _file(store)
    service.forwarder.wake()
    assert outbox_states(store).get("acknowledged") == 1  # nobody can ack it yet

    b.start()  # A stays dead
    wait_for(lambda: all_acked(store, 2), timeout=15, what="the report filed meanwhile acked")
    assert service.link.broker == office.link.broker == address(b)
    received = office.received_ids(TOPIC_NEW)
    assert sorted(received) == sorted([first, during])  # each once

    # Status updates come back through B: the status consumer resubscribed there.
    office.move(during, "acknowledged")
    wait_for(lambda: get_report(store, tracking=during).status == "acknowledged", timeout=10,
             what="the status update applied")
