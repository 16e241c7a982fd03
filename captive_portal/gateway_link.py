"""`GatewayControl` over MQTT: allow/deny commands, waiting for the gateway's ack.

The portal publishes a command on ``gateway/<id>/command`` and blocks the login request until
the ack with the same ``command_id`` arrives on ``gateway/<id>/ack`` (or ``timeout_s`` passes):
the visitor is sent on only once the gateway has opened the way. Accounting and session-end
reports from every gateway update the portal's sessions as they arrive.

A gateway speaks only for itself: an ack counts only on the topic of the gateway commanded, and
accounting and session ends touch only sessions of the gateway in the topic. Whatever else
arrives on these topics (any JSON value, of any shape) is logged and ignored.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from captive_portal.gateways import Ack
from captive_portal.sessions import SessionEnd, Sessions
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


#: Longest gateway error code kept from an ack (the agent's are a word or two).
ERROR_MAX = 64


class _Waiter:
    def __init__(self, gateway_id: str) -> None:
        self.gateway_id = gateway_id
        self.event = threading.Event()
        self.ack: Ack | None = None


def _gateway_of(message: InboundMessage) -> str:
    """The gateway id in ``gateway/<id>/<kind>`` (a single topic level, so never a wildcard)."""
    return message.topic.split("/")[1]


def _ack_of(payload: dict[str, Any]) -> Ack:
    """The ack a gateway sent, its fields held to their types (anything else reads as absent)."""
    error = payload.get("error")
    nft_ms = payload.get("nft_ms")
    if isinstance(nft_ms, bool) or not isinstance(nft_ms, (int, float)) \
            or not 0 <= nft_ms <= 1e9 or not math.isfinite(nft_ms):  # compared before converted
        nft_ms = None
    return Ack(payload.get("ok") is True, error[:ERROR_MAX] if isinstance(error, str) else None,
               None if nft_ms is None else float(nft_ms))


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
        waiter = _Waiter(gateway_id)
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
        command_id = payload.get("command_id")
        if not isinstance(command_id, str):
            return
        with self._lock:
            waiter = self._waiters.get(command_id)
        if waiter is None:
            return  # someone else's command, or one we stopped waiting for
        if _gateway_of(message) != waiter.gateway_id:
            log.warning("ack for a command to %s came on %s: ignored", waiter.gateway_id,
                        message.topic)
            return
        waiter.ack = _ack_of(payload)
        waiter.event.set()

    def _on_accounting(self, message: InboundMessage) -> None:
        payload = message.payload
        if not isinstance(payload, dict) or payload.get("schema") != ACCOUNTING_SCHEMA:
            return
        gateway_id = _gateway_of(message)
        clients = payload.get("clients")
        if not isinstance(clients, list):
            log.warning("accounting from %s without a list of clients: ignored", gateway_id)
            return
        _, refused = Sessions(self.stores(), self.clock).account(gateway_id, clients)
        if refused:
            log.warning("accounting from %s: %d malformed client entries ignored", gateway_id,
                        refused)

    def _on_session_end(self, message: InboundMessage) -> None:
        payload = message.payload
        if not isinstance(payload, dict) or payload.get("schema") != SESSION_END_SCHEMA:
            return
        gateway_id = _gateway_of(message)
        try:
            end = SessionEnd.from_payload(payload)
        except ValueError as exc:
            log.warning("bad session-end on %s: %s", message.topic, exc)
            return
        Sessions(self.stores(), self.clock).end(
            end.session_id, end.reason, bytes_up=end.bytes_up, bytes_down=end.bytes_down,
            gateway_id=gateway_id)


__all__ = ["MqttGatewayControl"]
