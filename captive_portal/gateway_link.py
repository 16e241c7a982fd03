"""`GatewayControl` over MQTT: allow/deny commands, waiting for the gateway's ack.

The portal publishes a command on ``gateway/<id>/command`` and blocks the login request until
the ack with the same ``command_id`` arrives on ``gateway/<id>/ack`` (or ``timeout_s`` passes):
the visitor is sent on only once the gateway has opened the way. Accounting and session-end
reports from every gateway update the portal's sessions as they arrive.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from captive_portal.gateways import Ack
from captive_portal.sessions import Sessions
from core.contracts.gateway import (
    ACCOUNTING_SCHEMA,
    ACK_SCHEMA,
    COMMAND_SCHEMA,
    SESSION_END_SCHEMA,
    SessionGrant,
    allow_command,
    deny_command,
    topic,
)
from core.mqtt import InboundMessage, MqttLink
from core.store import Store

log = logging.getLogger(__name__)


class _Waiter:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.ack: Ack | None = None


class MqttGatewayControl:
    """Commands gateways over one `MqttLink`; ``stores()`` gives this thread's `Store`."""

    def __init__(self, link: MqttLink, stores: Callable[[], Store],
                 clock: Callable[[], float] = time.time, share: str | None = None):
        self.link = link
        self.stores = stores
        self.clock = clock
        #: Several portal workers: each accounting or session-end report is for one of them
        #: (an MQTT shared subscription); every worker still sees every ack (it waits on its own).
        self.share = share
        self._waiters: dict[str, _Waiter] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self.link.subscribe(topic("+", "ack"), self._on_ack, qos=1)
        self.link.subscribe(topic("+", "accounting"), self._on_accounting, qos=1,
                            share=self.share)
        self.link.subscribe(topic("+", "session-end"), self._on_session_end, qos=1,
                            share=self.share)

    def allow(self, gateway_id: str, grant: SessionGrant, timeout_s: float) -> Ack:
        command = allow_command(uuid.uuid4().hex, grant, self.clock() + timeout_s)
        return self._command(gateway_id, command, timeout_s)

    def deny(self, gateway_id: str, session_id: int, mac: str, ip: str, reason: str,
             timeout_s: float) -> Ack:
        command = deny_command(uuid.uuid4().hex, session_id, mac, ip, reason,
                               self.clock() + timeout_s)
        return self._command(gateway_id, command, timeout_s)

    def _command(self, gateway_id: str, command: dict[str, Any], timeout_s: float) -> Ack:
        """Publish ``command`` and wait for the ack of its ``command_id``."""
        command_id = command["command_id"]
        waiter = _Waiter()
        with self._lock:
            self._waiters[command_id] = waiter
        try:
            if not self.link.connected:
                return Ack(False, "unreachable")
            self.link.publish_json(topic(gateway_id, "command"), command, qos=1,
                                   schema=COMMAND_SCHEMA)
            if not waiter.event.wait(timeout_s):
                return Ack(False, "timeout")
            return waiter.ack or Ack(False, "timeout")
        finally:
            with self._lock:
                self._waiters.pop(command_id, None)

    def _on_ack(self, message: InboundMessage) -> None:
        payload = message.payload
        if not isinstance(payload, dict) or payload.get("schema") != ACK_SCHEMA:
            return
        with self._lock:
            waiter = self._waiters.get(str(payload.get("command_id")))
        if waiter is None:
            return  # someone else's command, or one we stopped waiting for
        waiter.ack = Ack(bool(payload.get("ok")), payload.get("error"), payload.get("nft_ms"))
        waiter.event.set()

    def _on_accounting(self, message: InboundMessage) -> None:
        payload = message.payload
        if not isinstance(payload, dict) or payload.get("schema") != ACCOUNTING_SCHEMA:
            return
        gateway_id = message.topic.split("/")[1]
        try:
            Sessions(self.stores(), self.clock).account(gateway_id, payload.get("clients", []))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("bad accounting from %s: %s", gateway_id, exc)

    def _on_session_end(self, message: InboundMessage) -> None:
        payload = message.payload
        if not isinstance(payload, dict) or payload.get("schema") != SESSION_END_SCHEMA:
            return
        try:
            Sessions(self.stores(), self.clock).end(
                int(payload["session_id"]), str(payload.get("reason", "ended")),
                bytes_up=int(payload.get("bytes_up", 0)),
                bytes_down=int(payload.get("bytes_down", 0)))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("bad session-end on %s: %s", message.topic, exc)


__all__ = ["MqttGatewayControl"]
