"""Shared set-up for the provisioning tests: a simulated fleet speaking SNMP and SSH, seeded into
a fresh store, with variables every AP can render. tests/conftest.py serves its fixtures
(``sim_lab``, ``snmp_check``) to the netconfig and controller tests; no tests here."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from agents.apsim import SimulatorSettings, SimulatorThread, simulated_inventory, simulated_sites
from agents.apsim.ssh_server import login_for
from agents.apsim.ssh_state import SIM_PASSWORD, ApConfigState
from controller.auth import User
from controller.provisioning import SnmpReachability
from core import inventory
from core.store import Store
from netconfig import variables
from netconfig.push import Provisioner
from netconfig.service import ProvisioningService
from netconfig.settings import ProvisioningConfig
from tests.support import free_port, free_udp_port

ADMIN = User(1, "engineer", "operator")
GLOBAL_VARIABLES = {
    "radios": {"2g": {"channel": 6, "tx_power": 17}, "5g": {"channel": 36, "tx_power": 20}},
    "ssids": [{"id": "public", "ssid": "Amanah WiFi", "vlan": 10}],
}


@dataclass
class SimLab:
    sim: SimulatorThread
    store: Store
    box: object
    settings: ProvisioningConfig
    snmp: SnmpReachability
    aps: list[dict]           # inventory rows, in plan order

    def state(self, name: str) -> ApConfigState:
        return self.sim.simulator.ssh.aps[name]

    def provisioner(self) -> Provisioner:
        return Provisioner(self.store, self.box, self.settings, snmp=self.snmp)

    def service(self) -> ProvisioningService:
        return ProvisioningService(lambda: Store(self.store.location), self.box, self.settings,
                                   snmp=self.snmp)

    def by_platform(self, platform: str) -> list[dict]:
        return [ap for ap in self.aps if ap["platform"] == platform]

    def replace_host_key(self, name: str) -> None:
        self.sim.call(lambda s: s.ssh.replace_host_key(name))


@pytest.fixture(scope="module")
def snmp_check():
    check = SnmpReachability(timeout=0.5, retries=1)
    yield check
    check.close()


def fast_settings(**overrides) -> ProvisioningConfig:
    values = dict(workers=8, canary=1, max_failures=1, ssh_connect_timeout=3.0,
                  ssh_command_timeout=2.0, snmp_timeout=0.5, rollback_window=15.0)
    return ProvisioningConfig(**(values | overrides))


def seed(store: Store, box, count: int, first_address: str, snmp_port: int,
         ssh_port: int) -> list[dict]:
    for site in simulated_sites():
        inventory.add_site(store, {k: site[k] for k in inventory.SITE_FIELDS if k in site}, "test")
    rows = []
    for plan in simulated_inventory(count, first_address, snmp_port):
        rows.append(inventory.add_ap(store, box, {
            "name": plan["name"], "mac": plan["mac"], "mgmt_ip": plan["mgmt_ip"],
            "platform": plan["platform"], "site": plan["site"], "snmp_port": plan["snmp_port"],
            "snmp_community": "public", "ssh_port": ssh_port,
            "ssh_username": login_for(plan["platform"]), "ssh_password": SIM_PASSWORD}, "test"))
    return rows


@pytest.fixture
def sim_lab(store, secrets, snmp_check, request):
    count = getattr(request, "param", 6)
    first = f"127.0.{200 + (free_port() % 50)}.1"
    ssh_port = free_port()
    settings = SimulatorSettings(count=count, first_address=first, port=free_udp_port(),
                                 trap_target=None, v3=False, ssh_port=ssh_port)
    with SimulatorThread(settings) as sim:
        rows = seed(store, secrets, count, first, settings.port, ssh_port)
        variables.set_layer(store, secrets, "global", None, GLOBAL_VARIABLES, "test")
        aps = [inventory.get_ap(store, r["id"]) for r in rows]
        yield SimLab(sim, store, secrets, fast_settings(), snmp_check, aps)
