"""``oasis check``: is this node's config valid, and can it reach every peer it names?

Each check gives a `Finding`: ``ok``, ``warn`` (works, but an operator should look) or ``fail``
(the service would not work as configured). The message names what was checked (the file, the
key, the host and port) and what went wrong, so the line is enough to act on. Nothing is
changed: the store is opened without migrating, the key file is not created, no message is
published and no SMS is sent.
"""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from captive_portal.gateways import last_heard
from captive_portal.sms.smpp import SmppSettings, probe
from core.config import Config, MqttConfig, format_address
from core.mqtt import MqttLink
from core.secrets import SecretBox, SecretError
from core.store import Store, available_migrations, iso
from core.store.postgresql import redacted

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Finding:
    status: str
    what: str
    message: str


def run_checks(config: Config, *, timeout_s: float = 5.0,
               gateway_quiet_s: float = 24 * 3600.0) -> Iterator[Finding]:
    """Every check, in the order a node needs them: store and keys, broker, SMS, gateways."""
    location = config.store_location()
    shown = redacted(str(location))
    store = None
    if isinstance(location, Path) and not location.exists():
        yield Finding(FAIL, "store", f"{shown} ([store] path): no such file "
                                     f"(create it with `oasis migrate`)")
    else:
        try:
            store = Store(location, migrate=False)
            yield _store_finding(store)
        except Exception as exc:  # sqlite3, psycopg and OS errors alike name the cause
            yield Finding(FAIL, "store", f"{shown}: cannot be read: {exc}")
    yield from _key_findings(config, store)
    yield from _broker_findings(config.section(MqttConfig), timeout_s)
    sms = getattr(config, "sms", None)
    if sms is not None and sms.driver in ("http", "kannel"):
        yield _sms_finding(sms.url, timeout_s)
    if sms is not None and sms.driver == "smpp":
        yield _smpp_finding(replace(SmppSettings.from_config(sms), timeout_s=timeout_s))
    if store is not None:
        yield from _gateway_findings(store, gateway_quiet_s)
        store.close()


def _store_finding(store: Store) -> Finding:
    applied = store.schema_versions()
    newest: dict[str, int] = {}
    for migration in available_migrations():
        newest[migration.component] = max(newest.get(migration.component, 0), migration.number)
    behind = sorted(c for c, n in newest.items() if applied.get(c, 0) < n)
    versions = ", ".join(f"{c} {n}" for c, n in applied.items()) or "none"
    if behind:
        return Finding(WARN, "store", f"{store.path}: schema {versions}; migrations pending for "
                                      f"{', '.join(behind)} (applied at the next start, or "
                                      f"`oasis migrate`)")
    return Finding(OK, "store", f"{store.path}: schema {versions}")


def _key_findings(config: Config, store: Store | None) -> Iterator[Finding]:
    key_path = config.resolve_path(config.store.key_file)
    try:
        box = SecretBox.from_key_file(key_path, create=False)
    except SecretError as exc:
        yield Finding(FAIL, "keys", f"{exc} ([store] key_file)")
        return
    except OSError as exc:
        yield Finding(FAIL, "keys", f"{key_path} ([store] key_file): {exc}")
        return
    if store is None:
        yield Finding(OK, "keys", f"{key_path}: a valid key")
        return
    for gateway in last_heard(store):
        try:
            box.decrypt(gateway.key_token)
        except SecretError:
            yield Finding(FAIL, "keys", f"{key_path}: the store's secrets do not decrypt with it "
                                        f"(gateway {gateway.gateway_id}'s key): is it this "
                                        f"store's key file?")
            return
    yield Finding(OK, "keys", f"{key_path}: decrypts the store's secrets")


def _reach(host: str, port: int, timeout_s: float) -> str | None:
    """None if a TCP connection to host:port opens, else why not."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout_s:g}s"
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or exc}"


def _tls_handshake(mqtt: MqttConfig, host: str, port: int, timeout_s: float) -> str | None:
    """None if a TLS session with the broker opens as the link would open it, else why not:
    a certificate the configured CA does not vouch for is named as such, before MQTT."""
    try:
        context = ssl.create_default_context(cafile=mqtt.tls_ca_file or None)
        if mqtt.tls_cert_file:
            context.load_cert_chain(mqtt.tls_cert_file, mqtt.tls_key_file or None)
    except (OSError, ssl.SSLError) as exc:
        return f"cannot load the TLS files ([mqtt] tls_ca_file, tls_cert_file, tls_key_file): {exc}"
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as raw, \
                context.wrap_socket(raw, server_hostname=host):
            return None
    except ssl.SSLCertVerificationError as exc:
        return (f"the broker's certificate is not trusted: {exc.verify_message} "
                f"([mqtt] tls_ca_file)")
    except ssl.SSLError as exc:
        return f"TLS handshake failed: {exc.reason or exc}"
    except socket.gaierror as exc:
        return f"cannot resolve {host}: {exc.strerror}"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout_s:g}s"
    except OSError as exc:
        return f"cannot connect to {host}:{port}: {exc.strerror or exc}"


def _broker_findings(mqtt: MqttConfig, timeout_s: float) -> Iterator[Finding]:
    """One finding per broker. With several, one that fails is a warning while another works
    (clients fail over to it), and a failure when none does."""
    addresses = mqtt.addresses()
    if not addresses:
        yield Finding(OK, "broker", f"none configured ([mqtt] brokers and host are empty): "
                                    f"`oasis run` starts the embedded broker on "
                                    f"{mqtt.embedded_listen}")
        return
    keys = "([mqtt] brokers)" if mqtt.brokers else "([mqtt] host, port)"
    findings = [_broker_finding(mqtt, host, port, keys, timeout_s) for host, port in addresses]
    any_ok = any(finding.status == OK for finding in findings)
    for finding in findings:
        if finding.status == FAIL and any_ok:
            finding = replace(finding, status=WARN,
                              message=f"{finding.message}; clients use the other broker(s)")
        yield finding


def _broker_finding(mqtt: MqttConfig, host: str, port: int, keys: str,
                    timeout_s: float) -> Finding:
    where = f"{format_address(host, port)} {keys}"
    problem = (_tls_handshake(mqtt, host, port, timeout_s) if mqtt.tls
               else _reach(host, port, timeout_s))
    if problem:
        return Finding(FAIL, "broker", f"{where}: {problem}")
    # A client id of its own: the broker would otherwise drop the running controller's session.
    link = MqttLink(mqtt, client_id=f"{mqtt.client_id}-check-{os.getpid()}", keepalive=10,
                    host=host, port=port)
    link.start()
    try:
        connected = link.wait_connected(timeout_s)
        refused = link.last_connect_error
        error = link.health().last_error
    finally:
        link.stop()
    if connected:
        tls = ", TLS" if mqtt.tls else ""
        return Finding(OK, "broker", f"{where}: MQTT 5 connection accepted{tls}")
    if refused:
        return Finding(FAIL, "broker", f"{where}: the broker refused the connection: {refused} "
                                       f"([mqtt] username, password)")
    return Finding(FAIL, "broker", f"{where}: no MQTT connection within {timeout_s:g}s"
                                   f"{': ' + error if error else ''}")


def _sms_finding(url: str, timeout_s: float) -> Finding:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    problem = _reach(host, port, timeout_s)
    if problem:
        return Finding(FAIL, "sms", f"{url} ([sms] url): {problem}")
    return Finding(OK, "sms", f"{url} ([sms] url): reachable (nothing sent)")


def _smpp_finding(settings: SmppSettings) -> Finding:
    """A transmitter bind and its unbind: the SMSC is there and takes our credentials."""
    where = f"{settings.host}:{settings.port} ([sms] smpp_host, smpp_port)"
    problem = probe(settings)
    if problem and problem.startswith("the SMSC refused"):
        return Finding(FAIL, "sms", f"{where}: {problem} ([sms] smpp_system_id, smpp_password)")
    if problem:
        return Finding(FAIL, "sms", f"{where}: {problem}")
    return Finding(OK, "sms", f"{where}: bind as {settings.system_id} accepted (nothing sent)")


def _gateway_findings(store: Store, quiet_s: float) -> Iterator[Finding]:
    now = time.time()
    for gateway in last_heard(store):
        name = f"{gateway.gateway_id}" + (f" ({gateway.name})" if gateway.name else "")
        if gateway.heard_at is None:
            yield Finding(WARN, "gateway", f"{name}: never heard from (no login acked, no "
                                           f"accounting) since its registration "
                                           f"{iso(gateway.registered_at)}")
        elif now - gateway.heard_at > quiet_s:
            yield Finding(WARN, "gateway", f"{name}: last heard {iso(gateway.heard_at)}, "
                                           f"{_ago(now - gateway.heard_at)} ago")
        else:
            yield Finding(OK, "gateway", f"{name}: last heard {iso(gateway.heard_at)}")


def _ago(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 60:.0f} minutes"


def describe_config(config: Config) -> Finding:
    source = config.source if config.source != "defaults" else "no file (defaults and environment)"
    return Finding(OK, "config", f"{source}: valid ({len(config.sections())} sections)")

