"""Typed configuration: one TOML file, then environment overrides.

Precedence (lowest to highest): built-in defaults, the TOML file, ``OASIS_<SECTION>_<KEY>``
environment variables. The file is found from ``--config``, then ``OASIS_CONFIG``, then
``./oasis.toml`` if it exists; with none of them the defaults apply. Every value is checked at
start-up and an error names the key and where it came from.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from controller.portal_config import PortalConfig, SmsConfig
from controller.reports_config import ReportsConfig
from netconfig.settings import ProvisioningConfig


class ConfigError(ValueError):
    """A configuration value is missing, unknown or invalid; the message names key and source."""


def host_port(value: str, key: str = "value") -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[v6]:PORT`` too); the error names ``key``."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{key}: expected HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


@dataclass
class StoreConfig:
    path: str = "var/oasis.db"
    #: Fernet key that encrypts device secrets at rest; created (mode 0600) if missing.
    key_file: str = "var/oasis.key"


@dataclass
class AdminConfig:
    listen: str = "127.0.0.1:8080"
    #: Set true when the admin app is served over HTTPS (marks cookies Secure).
    secure_cookies: bool = False
    session_hours: int = 12

    def validate(self) -> None:
        host_port(self.listen, "listen")
        if self.session_hours <= 0:
            raise ValueError("session_hours: must be positive")


@dataclass
class MqttConfig:
    #: Empty host: `oasis run` starts an embedded broker on ``embedded_listen``.
    host: str = ""
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    prefix: str = "oasis/"
    client_id: str = "oasis-controller"
    embedded_listen: str = "127.0.0.1:1883"

    def validate(self) -> None:
        if not 0 < self.port <= 65535:
            raise ValueError("port: must be 1-65535")
        if not self.prefix or not self.prefix.endswith("/") or any(c in self.prefix for c in "#+"):
            raise ValueError("prefix: must end with '/' and contain no wildcards")
        host_port(self.embedded_listen, "embedded_listen")


@dataclass
class SnmpConfig:
    #: Seconds between the starts of two poll cycles.
    interval: float = 60.0
    timeout: float = 2.0
    retries: int = 1
    #: Requests in flight at once across all APs.
    max_in_flight: int = 64
    #: Consecutive failed polls before an AP is declared down (it is "degraded" before that).
    down_after: int = 3
    trap_listen: str = "127.0.0.1:1162"
    #: Community accepted on SNMPv1/v2c traps.
    trap_community: str = "public"

    def validate(self) -> None:
        for key, ok in (("interval", self.interval > 0), ("timeout", self.timeout > 0),
                        ("retries", self.retries >= 0), ("max_in_flight", self.max_in_flight >= 1),
                        ("down_after", self.down_after >= 1)):
            if not ok:
                raise ValueError(f"{key}: out of range ({getattr(self, key)!r})")
        host_port(self.trap_listen, "trap_listen")


@dataclass
class AlertsConfig:
    #: Clients per AP above which a "clients above capacity" alert opens (unless the AP sets its own).
    default_capacity: int = 60
    #: Interface errors per second (in + out, all interfaces of an AP) that open an alert.
    interface_errors_per_s: float = 1.0

    def validate(self) -> None:
        if self.default_capacity < 1:
            raise ValueError("default_capacity: must be at least 1")
        if self.interface_errors_per_s < 0:
            raise ValueError("interface_errors_per_s: must not be negative")


@dataclass
class RetentionConfig:
    raw_hours: int = 24
    hourly_days: int = 365

    def validate(self) -> None:
        for key in ("raw_hours", "hourly_days"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key}: must be at least 1")


@dataclass
class ApsimConfig:
    count: int = 20
    #: First simulated AP's address; the next ones count up from it (127.0.0.0/8 is all loopback).
    first_address: str = "127.0.1.1"
    port: int = 1161
    community: str = "public"
    v3_user: str = "oasis"
    v3_auth_key: str = "oasis-auth-key"
    v3_priv_key: str = "oasis-priv-key"

    def validate(self) -> None:
        try:
            ipaddress.IPv4Address(self.first_address)
        except ValueError:
            raise ValueError(f"first_address: not an IPv4 address: {self.first_address!r}") from None
        if self.count < 0:
            raise ValueError("count: must not be negative")
        if not 0 < self.port <= 65535:
            raise ValueError("port: must be 1-65535")


@dataclass
class Config:
    store: StoreConfig = field(default_factory=StoreConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    snmp: SnmpConfig = field(default_factory=SnmpConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    apsim: ApsimConfig = field(default_factory=ApsimConfig)
    provisioning: ProvisioningConfig = field(default_factory=ProvisioningConfig)
    portal: PortalConfig = field(default_factory=PortalConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    reports: ReportsConfig = field(default_factory=ReportsConfig)
    #: Where the values came from, for messages ("oasis.toml", "defaults").
    source: str = "defaults"

    def resolve_path(self, value: str) -> Path:
        """A path from the config, relative to the config file's folder when not absolute."""
        path = Path(value)
        if path.is_absolute() or self.source in ("defaults", ""):
            return path
        return Path(self.source).parent / path


def coerce(value: object, kind: object, where: str) -> object:
    """Check a TOML value (or convert an environment string) to the field's declared type."""
    from_env = isinstance(value, str) and kind is not str
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if from_env and text in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return text in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            # Firewall marks and the like are usually written in hex ("0x65").
            hexish = isinstance(value, str) and value.strip().lower().startswith(("0x", "0o", "0b"))
            number = int(value, 0) if kind is int and hexish else kind(value)  # type: ignore
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {kind.__name__}, got {value!r}") from None
        if kind is int and isinstance(value, float) and value != number:
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return number
    if typing.get_origin(kind) is list or kind is list:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return list(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def fill_section(section: object, data: object, where: str, env: typing.Mapping[str, str],
                 env_prefix: str | None, *, skip: tuple[str, ...] = ()) -> None:
    """Set a dataclass section from its TOML table, then from ``<env_prefix><KEY>`` variables.

    ``where`` names the file and the table (``oasis.toml: snmp``) so every error names both;
    ``skip`` lists fields the caller fills itself (e.g. an array of sub-tables).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    hints = typing.get_type_hints(type(section))
    kinds = {f.name: hints[f.name] for f in dataclasses.fields(section)  # type: ignore[arg-type]
             if f.name not in skip}
    for key, raw in data.items():
        if key in skip:
            continue
        if key not in kinds:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(kinds)})")
        setattr(section, key, coerce(raw, kinds[key], f"{where}.{key}"))
    if env_prefix:
        for key, kind in kinds.items():
            var = f"{env_prefix}{key}".upper()
            if var in env:
                setattr(section, key, coerce(env[var], kind, f"environment {var}"))


def read_toml(path: str | os.PathLike) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _section_types(section_cls: type) -> dict[str, type]:
    hints = typing.get_type_hints(section_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(section_cls)}


def load_config(path: str | os.PathLike | None = None, env: typing.Mapping[str, str] | None = None) -> Config:
    """Build and validate the config from ``path`` (or OASIS_CONFIG / ./oasis.toml) and ``env``."""
    env = os.environ if env is None else env
    chosen = path or env.get("OASIS_CONFIG") or ("oasis.toml" if Path("oasis.toml").exists() else None)
    data = read_toml(chosen) if chosen else {}
    source = str(chosen) if chosen else "defaults"

    config = Config(source=source)
    sections = {f.name: f for f in dataclasses.fields(Config) if f.name != "source"}
    for name, value in data.items():
        if name not in sections:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(sections)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
    for name in sections:
        section = getattr(config, name)
        fill_section(section, data.get(name, {}), f"{source}: {name}", env, f"OASIS_{name}_")
        validate = getattr(section, "validate", None)
        if validate:
            try:
                validate()
            except (ValueError, ConfigError) as exc:
                raise ConfigError(f"{source}: [{name}] {exc}") from None
    return config


def config_keys() -> dict[str, list[str]]:
    """Section -> keys (the tests keep the example file complete with it)."""
    hints = typing.get_type_hints(Config)
    return {f.name: list(_section_types(hints[f.name]))
            for f in dataclasses.fields(Config) if f.name != "source"}


__all__ = ["Config", "ConfigError", "coerce", "config_keys", "fill_section", "host_port",
           "load_config", "read_toml"]
