"""The gateway agent's typed configuration, read from its own TOML file.

A park gateway carries no controller, so the agent reads a small file of its own
(``/etc/oasis/gateway.toml``, ``--config``) with a ``[gateway]`` section and an optional
``[mqtt]`` section (the controller's ``MqttConfig``, so broker settings read the same
everywhere). Precedence follows the project's rule: defaults, then the file, then
``OASIS_GATEWAY_<KEY>`` / ``OASIS_MQTT_<KEY>`` environment variables. Every error names the key
and the file.

Sections are filled with `core.config.fill_section`, so the agent's file follows the same
rules (types, unknown keys, environment) as ``oasis.toml``.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.config import ConfigError, MqttConfig, fill_section, read_toml
from core.contracts.gateway import GATEWAY_ID

_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
#: Gateway ids travel in MQTT topics and signed redirect URLs.
_NFT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
#: DHCP option 82 sub-options as dnsmasq's lease script sees them ("" records nothing).
AP_OPTIONS = {"circuit-id": "DNSMASQ_CIRCUIT_ID", "remote-id": "DNSMASQ_REMOTE_ID", "": ""}
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}$")


@dataclass
class GatewayConfig:
    """How one park gateway enforces the portal; docs/gateway.md explains each choice."""

    gateway_id: str = "gw1"
    #: The interface (usually a bridge) the visitors' WiFi arrives on.
    lan_interface: str = "br0"
    #: The gateway's own address on that interface: DNS, DHCP, redirector and RFC 8908 API.
    lan_address: str = "10.77.0.1"
    #: Port of the redirector that unauthorised HTTP (tcp/80) is DNAT'ed to.
    redirect_port: int = 2050
    #: Port of the RFC 8908 captive-portal API (DHCP option 114 points at it).
    api_port: int = 8908
    #: The portal's login page; the redirector appends the signed parameters.
    portal_url: str = "https://portal.example.org/"
    #: File holding the HMAC key shared with the controller (hex or text, mode 0600).
    hmac_key_file: str = "/etc/oasis/gateway.key"
    #: Our own nftables table (family inet); nothing else in the ruleset is touched.
    table: str = "oasis_gw"
    #: IPs/CIDRs reachable before login (the portal host is added automatically).
    walled_garden: list[str] = field(default_factory=list)
    #: Domain names reachable before login; dnsmasq puts their addresses in an nft set.
    walled_garden_domains: list[str] = field(default_factory=list)
    #: Agent state (sessions and their limits) that survives a restart of the agent.
    state_db: str = "/var/lib/oasis/gateway.db"
    #: Seconds between two accounting reports to the controller.
    accounting_interval_s: float = 30.0
    #: Seconds between two checks of data quotas and idle timeouts (at least; see below).
    enforce_interval_s: float = 2.0
    #: Share of one core the checks may use: with many clients they are spaced further apart
    #: (a check costs about 40 us of CPU per client, so 10,000 clients at 5 %: every 8 s).
    sweep_cpu_share: float = 0.05
    #: Upper bound on authorised clients (the size of the nft sets).
    max_clients: int = 65536
    #: Distinct per-client rate pairs (each is one set and two rules, never one per client).
    max_rate_classes: int = 32
    #: dnsmasq DHCP range, as dnsmasq writes it: ``first,last,lease``.
    dhcp_range: str = "10.77.0.100,10.77.0.250,12h"
    #: Upstream DNS servers for dnsmasq (empty: the system's resolv.conf).
    dns_servers: list[str] = field(default_factory=list)
    #: Extra ``name=address`` DNS answers (a lab's "internet" hosts, local services).
    dns_hosts: list[str] = field(default_factory=list)
    #: The DHCP option 82 sub-option the APs name themselves in (``circuit-id`` or
    #: ``remote-id``), so a visitor's session and 940 reports know the AP; "" to not record it.
    ap_option: str = "circuit-id"
    #: Where dnsmasq's lease hook records the AP each client last leased through.
    ap_dir: str = "/run/oasis/gateway-aps"

    def validate(self) -> None:
        if not GATEWAY_ID.match(self.gateway_id):
            raise ValueError(f"gateway_id: letters, digits, '_', '.', '-' only ({self.gateway_id!r})")
        if not _IFNAME.match(self.lan_interface):
            raise ValueError(f"lan_interface: not an interface name: {self.lan_interface!r}")
        _ipv4("lan_address", self.lan_address)
        for key in ("redirect_port", "api_port"):
            if not 0 < getattr(self, key) <= 65535:
                raise ValueError(f"{key}: must be 1-65535")
        if self.redirect_port == self.api_port:
            raise ValueError("api_port: must differ from redirect_port")
        parts = urlsplit(self.portal_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"portal_url: expected an http(s) URL, got {self.portal_url!r}")
        if not _NFT_NAME.match(self.table):
            raise ValueError(f"table: not an nftables name: {self.table!r}")
        for cidr in self.walled_garden:
            try:
                ipaddress.IPv4Network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"walled_garden: not an IPv4 address or CIDR: {cidr!r}") from None
        for name in self.walled_garden_domains:
            if not _HOSTNAME.match(name):
                raise ValueError(f"walled_garden_domains: not a domain name: {name!r}")
        for entry in self.dns_hosts:
            name, sep, address = entry.partition("=")
            if not sep or not _HOSTNAME.match(name):
                raise ValueError(f"dns_hosts: expected name=address, got {entry!r}")
            _ipv4("dns_hosts", address)
        for server in self.dns_servers:
            _ipv4("dns_servers", server)
        if self.ap_option not in AP_OPTIONS:
            raise ValueError(f"ap_option: one of {sorted(AP_OPTIONS)} (got {self.ap_option!r})")
        if self.ap_option and not os.path.isabs(self.ap_dir):
            raise ValueError(f"ap_dir: must be an absolute path ({self.ap_dir!r})")
        for key, ok in (("accounting_interval_s", self.accounting_interval_s > 0),
                        ("enforce_interval_s", self.enforce_interval_s > 0),
                        ("sweep_cpu_share", 0 < self.sweep_cpu_share <= 1),
                        ("max_clients", 1 <= self.max_clients <= 1_000_000),
                        ("max_rate_classes", 1 <= self.max_rate_classes <= 256),
                        ("dhcp_range", self.dhcp_range.count(",") >= 1)):
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")

    @property
    def portal_host(self) -> str:
        return urlsplit(self.portal_url).hostname or ""

    @property
    def api_url(self) -> str:
        """The RFC 8908 API URI that DHCP option 114 carries."""
        return f"http://{self.lan_address}:{self.api_port}/captive-portal/api"


@dataclass
class GatewayAgentConfig:
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    mqtt: MqttConfig = field(default_factory=lambda: MqttConfig(client_id=""))
    source: str = "defaults"


def _ipv4(key: str, value: str) -> None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"{key}: not an IPv4 address: {value!r}") from None


def load_gateway_config(path: str | os.PathLike | None,
                        env: typing.Mapping[str, str] | None = None) -> GatewayAgentConfig:
    """Read, override and validate the agent's file; raise ConfigError naming key and file."""
    env = os.environ if env is None else env
    data = read_toml(path) if path else {}
    source = str(path) if path else "defaults"
    unknown = set(data) - {"gateway", "mqtt"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {sorted(unknown)} (known: gateway, mqtt)")
    config = GatewayAgentConfig(source=source)
    fill_section(config.gateway, data.get("gateway", {}), f"{source}: gateway", env,
                 "OASIS_GATEWAY_")
    fill_section(config.mqtt, data.get("mqtt", {}), f"{source}: mqtt", env, "OASIS_MQTT_")
    if not config.mqtt.client_id:
        config.mqtt.client_id = f"oasis-gateway-{config.gateway.gateway_id}"
    for name in ("gateway", "mqtt"):
        try:
            getattr(config, name).validate()
        except ValueError as exc:
            raise ConfigError(f"{source}: [{name}] {exc}") from None
    return config


__all__ = ["ConfigError", "GatewayAgentConfig", "GatewayConfig",
           "load_gateway_config"]
