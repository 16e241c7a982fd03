"""Helpers shared by the 940 report tests: config, filing reports, a forwarder and back office."""

from __future__ import annotations

import time
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


def now() -> float:
    return time.time()


class FakeGatewayControl:
    """Stands in for a park gateway (the report pages never command it): acks everything."""

    def __init__(self) -> None:
        self.commands: list[tuple] = []

    def allow(self, gateway_id, grant, timeout_s):
        from captive_portal.gateways import Ack
        self.commands.append(("allow", gateway_id, grant))
        return Ack(True, nft_ms=0.1)

    def deny(self, gateway_id, session_id, mac, ip, reason, timeout_s):
        from captive_portal.gateways import Ack
        self.commands.append(("deny", gateway_id, session_id, reason))
        return Ack(True)


class PortalWithReports:
    """The portal app (report pages and Open311 included), a test client and an api_key."""

    API_KEY = "test-open311-key"

    def __init__(self, tmp_path, config=FAST):
        import hashlib

        from cryptography.fernet import Fernet

        from captive_portal import create_app
        from captive_portal.config import PortalSettings
        from captive_portal.gateways import register_gateway
        from core.secrets import SecretBox
        from core.store import Store

        self.settings = PortalSettings()
        self.settings.portal.secure_cookies = False
        self.settings.sms.outbox = str(tmp_path / "sms.jsonl")
        self.store_path = str(tmp_path / "portal.db")
        box = SecretBox(Fernet.generate_key())
        self.store = Store(self.store_path)
        self.gateway_key = register_gateway(self.store, box, "gw1").encode()
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO open311_keys (name, key_sha256, created_at) VALUES "
                         "('tests', ?, 0)", (hashlib.sha256(self.API_KEY.encode()).hexdigest(),))
        self.now = time.time()
        self.app = create_app(self.settings, store_path=self.store_path, secret_box=box,
                              gateway=FakeGatewayControl(), secret_key=b"k" * 32,
                              clock=lambda: self.now, testing=True)
        self.app.extensions["oasis_reports"].config = config
        self.client = self.app.test_client()

    def counts(self) -> tuple[int, int, int, int]:
        """(reports, outbox rows, photos, events): what a refused request must leave alone."""
        return tuple(self.store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                     for table in ("reports", "report_outbox", "report_photos", "report_events"))

    def post311(self, fmt="json", **fields):
        data = {"api_key": self.API_KEY, "service_code": "lighting", "lat": "25.383",
                "long": "49.586", "description": "The lamp by the north gate is out"}
        data.update(fields)
        return self.client.post(f"/open311/v2/requests.{fmt}",
                                data={k: v for k, v in data.items() if v is not None})
