"""Shared set-up for the provisioning page and API tests (no tests of its own)."""

from __future__ import annotations

from controller.monitoring.snapshot import Snapshot
from controller.web import create_app

VARIABLES = {
    "radios": {"2g": {"channel": 6, "tx_power": 17}},
    "ssids": [{"id": "public", "ssid": "Amanah WiFi"}],
}


def provisioning_app(config, secrets, woken: list | None = None):
    """The admin app with a stand-in for the worker's wake-up that records each call."""
    app = create_app(config, snapshot=Snapshot(), secret_box=secrets,
                     provisioning_wake=(lambda: woken.append(True)) if woken is not None
                     else None)
    app.config["TESTING"] = True
    return app


def arabic_ssid(size: int) -> str:
    """An Arabic SSID of exactly ``size`` bytes in UTF-8 (2 bytes a letter, 1 a space)."""
    text = "واي فاي الأمانة"
    while len(text.encode("utf-8")) + 2 <= size:
        text += "ة"
    return text + " " * (size - len(text.encode("utf-8")))
