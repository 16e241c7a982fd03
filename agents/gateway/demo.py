"""The demo's gateway: acks the portal's commands and enforces nothing.

``oasis run --demo`` has no park gateway in front of the visitor (that needs root, nftables and
a LAN: the namespace lab in ``tests/lab/`` builds one). So that a login in the demo goes all
the way through, this stands in for one: it answers ``gateway/<id>/command`` over MQTT with the
real agent's channel (`GatewayControlChannel`: the same checks and the same acks), keeps the
clients it was told about in memory, and opens or closes nothing. Never run it in front of
visitors: it lets nobody out, and it keeps nobody in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from agents.gateway.control import GatewayControlChannel
from agents.gateway.enforcer import GrantError
from agents.gateway.sessions import ClientSession, SessionBook
from core.config import MqttConfig
from core.contracts.gateway import SessionGrant
from core.contracts.signature import normalise_mac
from core.mqtt import MqttLink


class AckingEnforcer:
    """`Enforcer`'s allow and deny without a firewall: the book of clients only, in memory."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.book = SessionBook(":memory:")
        self._lock = threading.Lock()

    def allow(self, command: Mapping[str, Any]) -> tuple[ClientSession, float]:
        try:
            grant = SessionGrant.from_payload(command)
        except (KeyError, TypeError, ValueError) as exc:
            raise GrantError("bad_command", str(exc)) from None
        session = ClientSession.from_grant(grant, self.clock())
        if session.expires_at <= session.started_at:
            raise GrantError("already_expired")
        with self._lock:
            for previous in self.book.holding(session.mac, session.ip):
                self.book.remove(previous)
            self.book.put(session)
        return session, 0.0

    def deny(self, mac: str, ip: str | None = None) -> ClientSession | None:
        with self._lock:
            session = self.book.by_mac(normalise_mac(mac))
            if session is None and ip:
                session = self.book.by_ip(ip)
            if session is not None:
                self.book.remove(session)
            return session


class DemoGateway:
    """Gateway ``gateway_id`` on the broker at ``host``:``port``, acking without enforcing."""

    def __init__(self, gateway_id: str, mqtt: MqttConfig, *, host: str | None, port: int | None,
                 protocol: str, clock: Callable[[], float] = time.time):
        self.gateway_id = gateway_id
        self.enforcer = AckingEnforcer(clock)
        self.link = MqttLink(mqtt, client_id=f"{mqtt.client_id}-demo-gateway-{gateway_id}",
                             protocol=protocol, host=host, port=port,
                             reconnect_min_s=0.2, reconnect_max_s=5.0)
        self.control = GatewayControlChannel(gateway_id, self.link, self.enforcer, clock)

    def start(self) -> None:
        self.control.start()
        self.link.start()

    def stop(self) -> None:
        self.link.stop()
        self.enforcer.book.close()


__all__ = ["AckingEnforcer", "DemoGateway"]
