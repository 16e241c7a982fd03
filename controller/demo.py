"""`oasis run --demo`: seed the simulator's sites and APs, start the simulator, make a login.

The demo keeps its own store under ``var/demo/`` (unless a config file is given) so it never
mixes simulated APs into a real inventory.
"""

from __future__ import annotations

import math
import secrets as _random
import subprocess
import sys
import time
from pathlib import Path

from agents.apsim.control import ControlError, control_address, send_command
from agents.apsim.inventory import simulated_inventory, simulated_sites
from agents.apsim.ssh_server import CLI_PLATFORMS, login_for
from agents.apsim.ssh_state import SIM_PASSWORD
from agents.gateway.demo import DemoGateway
from captive_portal import gateways
from captive_portal.demo import DEMO_GATEWAY
from controller import auth
from controller.monitoring import history as monitoring_history
from controller.notify import rota
from core import inventory
from core.config import Config, host_port
from core.inventory import InventoryError
from core.mqtt import MQTT_V5, MQTT_V311
from core.secrets import SecretBox
from core.store import Store
from netconfig import variables
from reporting import availability
from reporting import demo as reporting_demo

DEMO_ACTOR = "demo"
DEMO_ADMIN = "admin"
#: Every fifth simulated AP is registered with SNMPv3 authPriv, the rest with v2c.
V3_EVERY = 5
#: The municipality-wide layer of template variables the demo starts with (an engineer changes
#: it with `oasis config vars set global ...` or on the Configuration pages).
DEMO_GLOBAL_VARIABLES = {
    "radios": {"2g": {"channel": 6, "tx_power": 17}, "5g": {"channel": 36, "tx_power": 20}},
    "ssids": [{"id": "public", "ssid": "Amanah WiFi", "vlan": 10}],
}
#: Where each simulated OpenWrt and Cisco AP serves SSH (on its own address), for provisioning.
DEMO_SSH_PORT = 2222
#: The demo's park gateway: its visitors (`/demo/visitor` on the portal) are in this park.
DEMO_GATEWAY_SITE = "king-abdullah-park"
DEMO_GATEWAY_NAME = "Demo gateway (acks logins, enforces nothing)"


def prepare(config: Config, *, demo_paths: bool) -> None:
    """Demo defaults: a short poll interval, and the store apart from a real one."""
    config.snmp.interval = min(config.snmp.interval, 10.0)
    config.portal.secure_cookies = False  # the demo serves the portal over plain http
    if demo_paths:
        config.store.path = "var/demo/oasis.db"
        config.store.key_file = "var/demo/oasis.key"
        write_second_terminal_config(config.resolve_path(DEMO_CONFIG))


#: What a second terminal points OASIS_CONFIG at to work on the running demo's store.
DEMO_CONFIG = "var/demo/oasis.toml"


def write_second_terminal_config(path: Path) -> None:
    """A config file naming the demo's store, for commands run beside it (`oasis ap list`...);
    paths in it are relative to its own folder. Left alone once it exists (it may be edited)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `oasis run --demo` (make run): the demo's store, for commands run in\n"
        "# another terminal with OASIS_CONFIG=var/demo/oasis.toml. Paths are relative to this\n"
        "# file's folder; everything else keeps its default, as in the demo.\n"
        "[store]\npath = \"oasis.db\"\nkey_file = \"oasis.key\"\n", encoding="utf-8")


def _around(centre: tuple, n: int) -> dict:
    """A demo AP's position: the n-th point of a sunflower spiral about its site's (some 40 m
    apart), so the map shows each park's APs spread over it; none when the site has none."""
    if centre[0] is None:
        return {}
    angle, radius = n * 2.39996, 0.00035 * math.sqrt(n + 1)
    return {"lat": round(centre[0] + radius * math.sin(angle), 6),
            "lon": round(centre[1] + radius * math.cos(angle), 6)}


def seed(config: Config) -> int:
    """Sites and APs the simulator serves; existing ones are left as they are. Returns APs added."""
    store = Store(config.store_location())
    box = SecretBox.from_key_file(config.resolve_path(config.store.key_file))
    added = 0
    try:
        known_sites = {s["slug"] for s in inventory.list_sites(store)}
        for site in simulated_sites():
            if site["slug"] not in known_sites:
                inventory.add_site(store, site, DEMO_ACTOR)
        if not variables.get_layer(store, box, "global", None):
            variables.set_layer(store, box, "global", None, DEMO_GLOBAL_VARIABLES, DEMO_ACTOR)
        known_aps = {a["name"] for a in inventory.list_aps(store)}
        sim = config.apsim
        site_at = {s["slug"]: (s["lat"], s["lon"]) for s in simulated_sites()}
        placed: dict[str, int] = {}
        for index, ap in enumerate(simulated_inventory(sim.count, sim.first_address, sim.port)):
            if ap["name"] in known_aps:
                continue
            data = {k: ap[k] for k in ("name", "mac", "mgmt_ip", "platform", "site")}
            data["snmp_port"] = ap["snmp_port"]
            placed[ap["site"]] = placed.get(ap["site"], -1) + 1
            data |= _around(site_at.get(ap["site"], (None, None)), placed[ap["site"]])
            if ap["platform"] in CLI_PLATFORMS:
                data |= {"ssh_port": DEMO_SSH_PORT, "ssh_username": login_for(ap["platform"]),
                         "ssh_password": SIM_PASSWORD}
            if index % V3_EVERY == V3_EVERY - 1:
                data |= {"snmp_version": "3", "snmp_user": sim.v3_user,
                         "snmp_auth_key": sim.v3_auth_key, "snmp_priv_key": sim.v3_priv_key,
                         "snmp_auth_proto": sim.v3_auth_proto,
                         "snmp_priv_proto": sim.v3_priv_proto, "snmp_context": sim.v3_context}
            else:
                data |= {"snmp_version": "2c", "snmp_community": sim.community}
            try:
                inventory.add_ap(store, box, data, DEMO_ACTOR)
                added += 1
            except InventoryError as exc:  # e.g. an address already used by a real AP
                print(f"demo: AP {ap['name']} not added: {exc.message}", file=sys.stderr)
        reporting_demo.seed_history(store, config, box)  # a month of KPI history, once
        seed_chart_history(store, config)
        seed_oncall(store)
        if gateways.gateway_key(store, box, DEMO_GATEWAY) is None:
            gateways.register_gateway(store, box, DEMO_GATEWAY, DEMO_GATEWAY_NAME,
                                      site=DEMO_GATEWAY_SITE)
        return added
    finally:
        store.close()


def seed_chart_history(store: Store, config: Config, days: int = 30) -> int:
    """The AP charts' month, once: metrics that agree with the availability history."""
    now = time.time()
    start = now - days * 86400
    return monitoring_history.seed(
        store, [ap["id"] for ap in inventory.list_aps(store)], start=start, end=now,
        tz=config.municipality.timezone, down=availability.down_spans(store, start, now))


def seed_oncall(store: Store) -> None:
    """Someone on call, so the demo's alerts are mailed (var/mail-outbox without a relay) and
    sent by SMS (the console outbox) as a real rota's would be."""
    if not rota.people(store.conn):
        rota.add_person(store, actor=DEMO_ACTOR, name="NOC", email="noc@localhost",
                        phone="+966500000000", locale="ar")


def admin_login(config: Config) -> tuple[str, str]:
    """A fresh random password for the demo admin each run (printed, never stored in clear)."""
    store = Store(config.store_location())
    try:
        password = _random.token_urlsafe(12)
        if any(u.username == DEMO_ADMIN for u in auth.list_users(store)):
            auth.set_password(store, DEMO_ADMIN, password, DEMO_ACTOR)
        else:
            auth.create_user(store, DEMO_ADMIN, password, "admin", DEMO_ACTOR)
        return DEMO_ADMIN, password
    finally:
        store.close()


def start_gateway(config: Config) -> DemoGateway:
    """The demo's gateway in this process: it acks the portal's allow and deny commands, so a
    visitor's login completes, and enforces nothing (`agents.gateway.demo`)."""
    mqtt = config.mqtt
    external = bool(mqtt.addresses())  # else the embedded broker
    host, port = (None, None) if external else host_port(mqtt.embedded_listen)
    gateway = DemoGateway(DEMO_GATEWAY, mqtt, host=host, port=port,
                          protocol=MQTT_V5 if external else MQTT_V311)
    gateway.start()
    return gateway


def start_backoffice(config: Config, config_file: str | None) -> subprocess.Popen:
    """The reference 940 back office as a child process: it receives the reports the portal
    forwards, acks each by id, and can move them through their lifecycle (`oasis backoffice
    move`)."""
    command = [sys.executable, "-m", "controller"]
    if config_file:
        command += ["--config", config_file]
    command += ["backoffice", "run", "--auto-acknowledge",
                "--db", str(config.resolve_path("var/demo/backoffice.db"))]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL)


def start_simulator(config: Config, config_file: str | None,
                    timeout: float = 30.0) -> subprocess.Popen:
    """The simulator as a child process (its CPU shows apart from the controller's); its control
    endpoint is $OASIS_APSIM_CONTROL when set (the child and `oasis apsim` read it too)."""
    control = control_address()
    command = [sys.executable, "-m", "controller", "apsim", "run", "--control", control,
               "--count", str(config.apsim.count), "--first-address", config.apsim.first_address,
               "--port", str(config.apsim.port), "--trap-target", config.snmp.trap_listen,
               "--ssh-port", str(DEMO_SSH_PORT)]
    if config_file:
        command += ["--config", config_file]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        try:
            send_command("stats", host_port(control, "OASIS_APSIM_CONTROL"), timeout=1.0)
            return process
        except (ControlError, OSError):
            if process.poll() is not None:
                raise RuntimeError(f"the AP simulator exited with code {process.returncode}")
            if time.monotonic() > deadline:
                process.terminate()
                raise RuntimeError("the AP simulator did not start in time")
            time.sleep(0.2)  # waiting for a child process to bind its control port
