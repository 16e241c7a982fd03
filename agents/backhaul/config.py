"""The backhaul agent's typed configuration, read from its own TOML file.

A branch router carries no controller, so the agent reads a small file of its own
(``/etc/oasis/backhaul.toml``, ``--config``) with a ``[backhaul]`` section, one
``[[backhaul.links]]`` table per link and an optional ``[mqtt]`` section (the controller's
``MqttConfig``, so broker settings read the same everywhere). Precedence follows the project's
rule: defaults, then the file, then ``OASIS_BACKHAUL_<KEY>`` / ``OASIS_MQTT_<KEY>`` environment
variables for scalar keys. Every error names the key and the file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import typing
from dataclasses import dataclass, field

from core.config import ConfigError, MqttConfig, fill_section, read_toml

#: Interface names the kernel accepts (IFNAMSIZ 16 including the terminating NUL).
_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
#: Routing tables the kernel reserves (local, main, default, unspec).
_RESERVED_TABLES = {0, 253, 254, 255}


@dataclass
class BackhaulLinkConfig:
    """One backhaul link: where it leaves, whom it probes and the table that pins its probes."""

    name: str = ""
    interface: str = ""
    #: Next hop on this link towards headquarters.
    gateway: str = ""
    #: Address of the echo responder at the far end, reached over this link only.
    probe_peer: str = ""
    #: Routing table holding this link's own default route; probes are steered into it by fwmark.
    table: int = 0
    #: Lower is preferred: the primary has the lowest priority value.
    priority: int = 0
    #: Firewall mark put on this link's probes (SO_MARK) and matched by its ``ip rule``.
    fwmark: int = 0

    def validate(self) -> None:
        if not self.name:
            raise ValueError("name: required")
        if not _IFNAME.match(self.interface):
            raise ValueError(f"interface: not a valid interface name: {self.interface!r}")
        for key in ("gateway", "probe_peer"):
            try:
                ipaddress.IPv4Address(getattr(self, key))
            except ValueError:
                raise ValueError(f"{key}: not an IPv4 address: {getattr(self, key)!r}") from None
        if not 0 < self.table < 2**32 or self.table in _RESERVED_TABLES:
            raise ValueError(f"table: must be 1-4294967295 and not 253-255 ({self.table!r})")
        if not 0 < self.fwmark < 2**32:
            raise ValueError(f"fwmark: must be 1-4294967295 ({self.fwmark!r})")


@dataclass
class BackhaulConfig:
    """How the agent probes, decides and reports; see docs/backhaul.md for the reasoning."""

    #: Branch identifier used in MQTT topics and payloads.
    branch: str = "branch"
    #: Milliseconds between two probes on one link (20 ms is the supported floor).
    interval_ms: int = 20
    #: A probe without a reply after this many ms counts as missed; 0 means one interval.
    timeout_ms: int = 0
    #: Consecutive misses that take a link down (dead path detection).
    fail_misses: int = 10
    #: Probes in the sliding loss window.
    window: int = 50
    #: Windowed loss (percent) at or above which a link goes down (a badly degraded link).
    fail_loss_pct: float = 50.0
    #: Windowed loss (percent) at or below which a down link may come back up.
    recover_loss_pct: float = 10.0
    #: Consecutive replies needed before a down link comes back up.
    recover_successes: int = 25
    #: Seconds a better link must stay up before traffic fails back to it.
    holddown_s: float = 30.0
    #: UDP port of the echo responder at the far end.
    probe_port: int = 7007
    #: Prefixes whose route follows the active link ("default" for 0.0.0.0/0).
    routes: list = field(default_factory=lambda: ["default"])
    #: Metric of the active route; standby routes use the next metrics, in link priority order.
    route_metric: int = 50
    #: Priority of the fwmark ``ip rule`` of the first link (the next links use the next ones).
    rule_priority: int = 1000
    #: Flush conntrack entries that went over the backup when traffic fails back.
    flush_conntrack_on_failback: bool = False
    #: SQLite spool that keeps state/events while the broker is unreachable.
    spool: str = "/var/lib/oasis/backhaul-spool.db"
    #: JSON file rewritten on every change, for `oasis agent backhaul status` and monitoring.
    state_file: str = "/run/oasis/backhaul-state.json"
    #: Seconds between two state publications when nothing changes (fresh loss/RTT figures).
    state_every_s: float = 10.0
    links: list[BackhaulLinkConfig] = field(default_factory=list)

    @property
    def probe_timeout_ms(self) -> int:
        return self.timeout_ms or self.interval_ms

    def links_by_priority(self) -> list[BackhaulLinkConfig]:
        return sorted(self.links, key=lambda link: link.priority)

    def validate(self) -> None:
        checks = (
            ("interval_ms", 20 <= self.interval_ms <= 60_000),
            ("timeout_ms", 0 <= self.timeout_ms <= 60_000),
            ("fail_misses", self.fail_misses >= 1),
            ("window", 1 <= self.window <= 100_000),
            ("fail_loss_pct", 0 < self.fail_loss_pct <= 100),
            ("recover_loss_pct", 0 <= self.recover_loss_pct < self.fail_loss_pct),
            ("recover_successes", self.recover_successes >= 1),
            ("holddown_s", self.holddown_s >= 0),
            ("probe_port", 0 < self.probe_port <= 65535),
            ("route_metric", 0 <= self.route_metric < 2**31),
            ("rule_priority", 0 < self.rule_priority < 32766),
            ("state_every_s", self.state_every_s > 0),
        )
        for key, ok in checks:
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")
        if not self.branch or any(c in self.branch for c in "/#+"):
            raise ValueError("branch: required, without '/', '#' or '+'")
        for prefix in self.routes:
            if prefix != "default":
                try:
                    ipaddress.IPv4Network(prefix)
                except ValueError:
                    raise ValueError(f"routes: not an IPv4 prefix: {prefix!r}") from None
        if len(self.links) < 2:
            raise ValueError("links: at least two [[backhaul.links]] are needed to fail over")
        for index, link in enumerate(self.links):
            try:
                link.validate()
            except ValueError as exc:
                raise ValueError(f"links[{index}].{exc}") from None
        for key in ("name", "interface", "table", "priority", "fwmark"):
            values = [getattr(link, key) for link in self.links]
            if len(set(values)) != len(values):
                raise ValueError(f"links.{key}: must differ between links ({values!r})")


@dataclass
class AgentConfig:
    backhaul: BackhaulConfig = field(default_factory=BackhaulConfig)
    mqtt: MqttConfig = field(default_factory=lambda: MqttConfig(client_id="oasis-backhaul"))
    source: str = "defaults"


def load_agent_config(path: str | os.PathLike, env: typing.Mapping[str, str] | None = None
                      ) -> AgentConfig:
    """Read, override and validate the agent's file; raise ConfigError naming key and file."""
    env = os.environ if env is None else env
    source = str(path)
    data = read_toml(path)
    unknown = set(data) - {"backhaul", "mqtt"}
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {sorted(unknown)} (known: backhaul, mqtt)")
    config = AgentConfig(source=source)
    section = data.get("backhaul", {})
    fill_section(config.backhaul, section, f"{source}: backhaul", env, "OASIS_BACKHAUL_",
                 skip=("links",))
    raw_links = section.get("links", [])
    if not isinstance(raw_links, list):
        raise ConfigError(f"{source}: backhaul.links must be an array of tables [[backhaul.links]]")
    for index, raw in enumerate(raw_links):
        link = BackhaulLinkConfig()
        fill_section(link, raw, f"{source}: backhaul.links[{index}]", env, None)
        config.backhaul.links.append(link)
    fill_section(config.mqtt, data.get("mqtt", {}), f"{source}: mqtt", env, "OASIS_MQTT_")
    for name in ("backhaul", "mqtt"):
        try:
            getattr(config, name).validate()
        except ValueError as exc:
            raise ConfigError(f"{source}: [{name}] {exc}") from None
    return config


__all__ = ["AgentConfig", "BackhaulConfig", "BackhaulLinkConfig", "ConfigError",
           "load_agent_config"]
