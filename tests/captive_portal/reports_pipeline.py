"""Helpers shared by the 940 pipeline tests: fast settings, reports filed straight into the store,
and the outbox as the forwarder leaves it. (The portal app itself: portal_harness.py.)"""

from __future__ import annotations

from dataclasses import replace

from captive_portal.config import SmsConfig
from captive_portal.reports.config import ReportsConfig
from captive_portal.reports.intake import NewReport, file_report
from core.config import MqttConfig

#: Fast re-sends so faults heal within a test's patience.
FAST = ReportsConfig(resend_after_s=1.0, resend_max_s=2.0, sla_check_interval_s=0.2)


def mqtt_config(broker, prefix: str = "oasis/") -> MqttConfig:
    return MqttConfig(host=broker.host, port=broker.port, prefix=prefix)


def sms_config(tmp_path) -> SmsConfig:
    return SmsConfig(driver="console", outbox=str(tmp_path / "sms.jsonl"), retry_base_s=0.1)


def file_many(store, count: int, config: ReportsConfig = FAST, **overrides) -> list[str]:
    trackings = []
    for i in range(count):
        values = dict(category="lighting", description=f"Lamp {i} is out", channel="open311",
                      lat=25.38, lon=49.59, locale="ar")
        values.update(overrides)
        trackings.append(file_report(store, NewReport(**values), config).tracking)
    return trackings


def outbox_states(store) -> dict[str, int]:
    return dict(store.conn.execute("SELECT state, count(*) FROM report_outbox GROUP BY state"))


def all_acked(store, count: int) -> bool:
    return outbox_states(store).get("acknowledged", 0) == count


def config_with(**changes) -> ReportsConfig:
    return replace(FAST, **changes)
