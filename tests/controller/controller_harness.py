"""The whole controller against the AP simulator and a real Mosquitto (not a test module)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from agents.apsim import SimulatorSettings
from agents.apsim.runner import SimulatorThread
from controller import auth, demo
from controller.runtime import Controller
from core.config import Config, load_config
from core.store import Store
from tests.peers_postgres import store_location
from tests.support import free_port, free_udp_port


def controller_config(tmp_path, mosquitto, *, client_id: str, aps: int, first_address: str,
                      snmp_timeout: float) -> Config:
    """Defaults with every file in ``tmp_path``, free ports, fast polling and ``aps`` simulated
    APs from ``first_address``."""
    config = load_config(env={})
    config.store.path = str(tmp_path / "oasis.db")
    config.store.url = store_location("")  # PostgreSQL on that pass; "": the SQLite path
    config.store.key_file = str(tmp_path / "oasis.key")
    config.admin.listen = f"127.0.0.1:{free_port()}"
    config.portal.listen = f"127.0.0.1:{free_port()}"
    config.portal.secret_key_file = str(tmp_path / "portal.key")
    config.sms.outbox = str(tmp_path / "sms-outbox.log")
    config.mqtt.host, config.mqtt.port = mosquitto.host, mosquitto.port
    config.mqtt.client_id = client_id
    config.snmp.interval, config.snmp.timeout, config.snmp.retries = 0.5, snmp_timeout, 0
    config.snmp.trap_listen = f"127.0.0.1:{free_udp_port()}"
    config.apsim.count, config.apsim.first_address = aps, first_address
    config.apsim.port = free_udp_port(first_address)
    return config


@contextmanager
def running_controller(config: Config) -> Iterator[tuple[Controller, SimulatorThread, str]]:
    """The demo's sites and APs seeded, the simulator and the controller started; yields them
    with a viewer's API token."""
    demo.seed(config)
    store = Store(config.store_location())
    auth.create_user(store, "eng", "a-long-password", "viewer", "test")
    token = auth.create_token(store, "eng", "e2e", "test")
    store.close()
    with SimulatorThread(SimulatorSettings.from_config(config)) as simulator:
        controller = Controller(config)
        controller.start()
        try:
            yield controller, simulator, token
        finally:
            controller.stop()


def api(controller: Controller, token: str, path: str):
    request = urllib.request.Request(controller.admin_url + "api/v1/" + path,
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())
