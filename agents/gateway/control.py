"""The agent's MQTT side: commands in, acks, accounting and session ends out.

Topics, schemas and the allow command's session record (`SessionGrant`, read by
`Enforcer.allow`) are the contract in `core.contracts.gateway`.

Commands are applied in the MQTT network thread as they arrive: an nft transaction takes a
fraction of a millisecond, and the portal is waiting for the ack to let the visitor go. An
allow whose ``valid_until`` has passed is refused (``stale``): the portal that sent it has
given up waiting and told the visitor to retry. A deny is always applied.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from agents.gateway.enforcer import GrantError, SessionEnd
from agents.gateway.sessions import ClientSession
from core.contracts.gateway import (
    ACCOUNTING_SCHEMA,
    ACK_SCHEMA,
    ALLOW,
    COMMAND_SCHEMA,
    DENY,
    SESSION_END_SCHEMA,
    topic,
)
from core.mqtt import InboundMessage, MqttLink

log = logging.getLogger(__name__)

#: Clients per accounting message (keeps each message well under broker limits).
ACCOUNTING_CHUNK = 1000
#: Longest command id echoed in an ack (the portal's are 32 hex digits).
COMMAND_ID_MAX = 64


def client_entry(session: ClientSession) -> dict:
    return {"session_id": session.session_id, "mac": session.mac, "ip": session.ip,
            "bytes_up": session.bytes_up, "bytes_down": session.bytes_down,
            "last_seen": round(session.last_seen, 3)}


class Enforcing(Protocol):
    """What the channel asks of enforcement: `Enforcer` (nftables), or the demo's stand-in
    that enforces nothing (`agents.gateway.demo`)."""

    def allow(self, command: Mapping[str, Any]) -> tuple[ClientSession, float]: ...

    def deny(self, mac: str, ip: str | None = None) -> ClientSession | None: ...


class GatewayControlChannel:
    def __init__(self, gateway_id: str, link: MqttLink, enforcer: Enforcing,
                 clock: Callable[[], float] = time.time):
        self.gateway_id = gateway_id
        self.link = link
        self.enforcer = enforcer
        self.clock = clock
        self.commands_applied = 0

    def start(self) -> None:
        self.link.subscribe(topic(self.gateway_id, "command"), self.on_command, qos=1)

    def on_command(self, message: InboundMessage) -> None:
        """Apply a command and ack it. Whatever arrives (any JSON value) gets an ack that
        follows ``gateway-ack/1``: odd fields are not echoed back as they came."""
        payload = message.payload if isinstance(message.payload, dict) else {}
        command_id = payload.get("command_id")
        command_id = command_id[:COMMAND_ID_MAX] if isinstance(command_id, str) else ""
        action = payload.get("action")
        action = action if action in (ALLOW, DENY) else None
        session_id = payload.get("session_id")
        if isinstance(session_id, bool) or not isinstance(session_id, int) \
                or not 0 <= session_id < 2 ** 63:
            session_id = None
        ack: dict = {"command_id": command_id, "session_id": session_id, "action": action,
                     "ok": False, "error": None, "nft_ms": None}
        try:
            if payload.get("schema") != COMMAND_SCHEMA or not command_id:
                raise GrantError("bad_command", "schema or command_id")
            if action == ALLOW:
                if float(payload.get("valid_until", 0)) < self.clock():
                    raise GrantError("stale")
                _, ack["nft_ms"] = self.enforcer.allow(payload)
            elif action == DENY:
                ip = payload.get("ip")
                started = time.perf_counter()
                self.enforcer.deny(str(payload.get("mac", "")), ip if isinstance(ip, str) else None)
                ack["nft_ms"] = (time.perf_counter() - started) * 1000
            else:
                raise GrantError("bad_command", "action")
            ack["ok"] = True
            self.commands_applied += 1
        except GrantError as exc:
            ack["error"] = exc.code
            log.warning("command %r (%s) refused: %s", command_id, action, exc)
        except (TypeError, ValueError, ArithmeticError) as exc:
            ack["error"] = "bad_command"
            log.warning("command %r malformed: %s", command_id, str(exc)[:200])
        self.link.publish_json(topic(self.gateway_id, "ack"), ack, qos=1, schema=ACK_SCHEMA)

    def publish_ends(self, ends: Iterable[SessionEnd]) -> None:
        for end in ends:
            body = client_entry(end.session)
            body.update(reason=end.reason, at=round(end.at, 3))
            self.link.publish_json(topic(self.gateway_id, "session-end"), body, qos=1,
                                   schema=SESSION_END_SCHEMA)

    def publish_accounting(self, sessions: list[ClientSession]) -> int:
        """Publish counters of all clients in chunks; returns the number of messages."""
        chunks = [sessions[i:i + ACCOUNTING_CHUNK]
                  for i in range(0, len(sessions), ACCOUNTING_CHUNK)] or [[]]
        for index, chunk in enumerate(chunks):
            self.link.publish_json(
                topic(self.gateway_id, "accounting"),
                {"gateway_id": self.gateway_id, "part": index + 1, "parts": len(chunks),
                 "clients": [client_entry(s) for s in chunk]},
                qos=1, schema=ACCOUNTING_SCHEMA)
        return len(chunks)


__all__ = ["ACCOUNTING_CHUNK", "Enforcing", "GatewayControlChannel", "client_entry"]
