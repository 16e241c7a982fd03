"""Typed configuration: one TOML file, then environment overrides.

Precedence (lowest to highest): built-in defaults, the TOML file, ``OASIS_<SECTION>_<KEY>``
environment variables. The file is found from ``--config``, then ``OASIS_CONFIG``, then
``./oasis.toml`` if it exists; with none of them the defaults apply. Every value is checked at
start-up and an error names the key and where it came from.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import tomllib
import typing
import zoneinfo
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


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
    #: A ``postgresql://user:password@host:port/database`` URL: the store on PostgreSQL
    #: instead of the SQLite file at ``path`` (docs/scale-out.md). Empty: SQLite.
    url: str = ""
    #: Fernet key that encrypts device secrets at rest; created (mode 0600) if missing.
    key_file: str = "var/oasis.key"


@dataclass
class MunicipalityConfig:
    """Who runs the deployment and where: names on reports and e-mails, the local time zone
    every page, report period and business day is reckoned in."""
    name_ar: str = "أمانة الأحساء"
    name_en: str = "Al-Ahsa Municipality"
    #: An IANA zone. Riyadh keeps UTC+3 all year (no daylight saving time).
    timezone: str = "Asia/Riyadh"

    def validate(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from None


def format_address(host: str, port: int) -> str:
    """``HOST:PORT`` as written in the config (an IPv6 host in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass
class MqttConfig:
    #: Empty host and brokers: `oasis run` starts an embedded broker on ``embedded_listen``.
    host: str = ""
    port: int = 1883
    #: Several brokers (``HOST:PORT``; ``HOST`` alone takes ``port``), tried in order and in
    #: turn: a client on a broker that goes away moves to the next one. Instead of ``host``.
    brokers: list[str] = dataclasses.field(default_factory=list)
    username: str = ""
    password: str = ""
    tls: bool = False
    #: With ``tls``: the CA file (PEM) the broker's certificate is checked against (empty:
    #: the system's CAs), and a client certificate and key for brokers that ask for one.
    #: Absolute paths: an agent's file and the controller's share this section.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    prefix: str = "oasis/"
    client_id: str = "oasis-controller"
    embedded_listen: str = "127.0.0.1:1883"

    def addresses(self) -> list[tuple[str, int]]:
        """The brokers a client tries, in order: ``brokers``, else ``host`` and ``port`` as a
        one-element list; empty when none is configured (the embedded broker's case)."""
        if not self.brokers:
            return [(self.host, self.port)] if self.host else []
        found: list[tuple[str, int]] = []
        for index, entry in enumerate(self.brokers):
            where = f"brokers[{index}]"
            entry = entry.strip()
            if not entry:
                raise ValueError(f"{where}: empty; expected HOST:PORT")
            bare = ":" not in entry or (entry.startswith("[") and entry.endswith("]"))
            host, port = (entry.strip("[]"), self.port) if bare else host_port(entry, where)
            if not host or not 0 < port <= 65535:
                raise ValueError(f"{where}: expected HOST:PORT with a port 1-65535, "
                                 f"got {entry!r}")
            if (host, port) in found:
                raise ValueError(f"{where}: {format_address(host, port)} is listed twice")
            found.append((host, port))
        return found

    def describe(self) -> str:
        """The configured brokers for messages (``a:1883, b:1883``), or "(none)"."""
        return ", ".join(format_address(*address) for address in self.addresses()) or "(none)"

    def validate(self) -> None:
        if not 0 < self.port <= 65535:
            raise ValueError("port: must be 1-65535")
        if self.brokers and self.host:
            raise ValueError("host, brokers: set one of them (brokers lists every broker, "
                             f"the first one too), got host = {self.host!r} and brokers")
        self.addresses()
        files = {"tls_ca_file": self.tls_ca_file, "tls_cert_file": self.tls_cert_file,
                 "tls_key_file": self.tls_key_file}
        for key, value in files.items():
            if value and not self.tls:
                raise ValueError(f"{key}: set tls = true to use it")
            if value and not os.path.isabs(value):
                raise ValueError(f"{key}: must be an absolute path ({value!r})")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("tls_cert_file, tls_key_file: set both or neither")
        if not self.prefix or not self.prefix.endswith("/") or any(c in self.prefix for c in "#+"):
            raise ValueError("prefix: must end with '/' and contain no wildcards")
        host_port(self.embedded_listen, "embedded_listen")


#: Entry-point group under which each package registers its config sections:
#: ``<section> = "<package>.<module>:<Dataclass>"``.
SECTIONS_GROUP = "oasis.config"

Section = TypeVar("Section")


class Config:
    """The loaded sections of ``oasis.toml``: ``config.snmp``, ``config.portal``...

    Attribute access serves the sections by name; `section` gives a typed one by class.
    """

    def __init__(self, sections: dict[str, Any], source: str = "defaults"):
        self._sections = sections
        #: Where the values came from, for messages ("oasis.toml", "defaults").
        self.source = source

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_sections"][name]
        except KeyError:
            raise AttributeError(f"no config section [{name}] is registered") from None

    def section(self, kind: type[Section]) -> Section:
        """The section whose dataclass is ``kind``."""
        for value in self._sections.values():
            if type(value) is kind:
                return value
        raise ConfigError(f"no config section of type {kind.__name__} is registered")

    def sections(self) -> dict[str, Any]:
        return dict(self._sections)

    def store_location(self) -> str | Path:
        """Where the store is: the ``[store] url`` when set (PostgreSQL), else the SQLite file
        ``[store] path`` resolved like any path. `core.store.Store` opens either."""
        url = self._sections["store"].url
        if url:
            if not url.startswith(("postgresql://", "postgres://")):
                raise ConfigError(f"[store] url: {url!r} is not a postgresql:// URL")
            return str(url)
        return self.resolve_path(self._sections["store"].path)

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
            number: int | float
            if kind is int:
                number = int(value, 0) if hexish and isinstance(value, str) else int(value)
            else:
                number = float(value)
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


def fill_section(section: DataclassInstance, data: object, where: str,
                 env: typing.Mapping[str, str], env_prefix: str | None, *,
                 skip: tuple[str, ...] = ()) -> None:
    """Set a dataclass section from its TOML table, then from ``<env_prefix><KEY>`` variables.

    ``where`` names the file and the table (``oasis.toml: snmp``) so every error names both;
    ``skip`` lists fields the caller fills itself (e.g. an array of sub-tables).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: must be a table")
    hints = typing.get_type_hints(type(section))
    kinds = {f.name: hints[f.name] for f in dataclasses.fields(section) if f.name not in skip}
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


def registered_sections() -> dict[str, type]:
    """Section name -> its dataclass, from every installed package's ``oasis.config`` entry points.

    Each package defines and registers its own sections; nothing here imports them by name.
    """
    return {name: entry.load() for name, entry in _section_entries().items()}


@functools.cache
def _section_entries() -> dict[str, Any]:
    found = {ep.name: ep for ep in entry_points(group=SECTIONS_GROUP)}
    if not found:
        raise ConfigError(f"no config sections registered under the entry-point group "
                          f"{SECTIONS_GROUP!r}: is the project installed (pip install -e .)?")
    return found


def load_config(path: str | os.PathLike | None = None, env: typing.Mapping[str, str] | None = None,
                sections: typing.Mapping[str, type] | None = None) -> Config:
    """Build and validate the config from ``path`` (or OASIS_CONFIG / ./oasis.toml) and ``env``.

    ``sections`` defaults to every registered section; a section not given is an unknown one.
    """
    env = os.environ if env is None else env
    chosen = path or env.get("OASIS_CONFIG") or ("oasis.toml" if Path("oasis.toml").exists() else None)
    data = read_toml(chosen) if chosen else {}
    source = str(chosen) if chosen else "defaults"
    kinds = registered_sections() if sections is None else dict(sections)

    for name, value in data.items():
        if name not in kinds:
            raise ConfigError(f"{source}: unknown section [{name}] (known: {', '.join(kinds)})")
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
    built = {}
    for name, kind in kinds.items():
        section = kind()
        fill_section(section, data.get(name, {}), f"{source}: {name}", env, f"OASIS_{name}_")
        validate = getattr(section, "validate", None)
        if validate:
            try:
                validate()
            except (ValueError, ConfigError) as exc:
                raise ConfigError(f"{source}: [{name}] {exc}") from None
        built[name] = section
    return Config(built, source)


def config_keys(sections: typing.Mapping[str, type] | None = None) -> dict[str, list[str]]:
    """Section -> keys (the tests keep the example file complete with it)."""
    kinds = registered_sections() if sections is None else sections
    return {name: list(_section_types(kind)) for name, kind in kinds.items()}


__all__ = ["Config", "ConfigError", "MqttConfig", "SECTIONS_GROUP", "StoreConfig", "coerce",
           "config_keys", "fill_section", "format_address", "host_port", "load_config", "read_toml",
           "registered_sections"]
