"""Portal <-> park gateway over MQTT (schemas in ``schemas/gateway-*.json``).

Topics, under the configured prefix:

- ``gateway/<id>/command``      allow/deny from the portal (QoS 1)
- ``gateway/<id>/ack``          one per command, with ``ok``, ``error`` and the nft time
- ``gateway/<id>/accounting``   byte counters and last-seen of authorised clients, in chunks
- ``gateway/<id>/session-end``  a session ended on the gateway (expired, quota, idle, removed)

A visitor's session as a gateway enforces it, `SessionGrant`, is the one record both sides
share: the portal builds the allow command from it (`allow_command`) and the gateway reads it
back (`SessionGrant.from_payload`), so the command's shape is written here and nowhere else.
Reading a command checks types, the MAC and the IPv4 address, not the whole JSON Schema: a
gateway reads hundreds of commands a second, and tests hold these fields to the schema.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.contracts.signature import normalise_mac

COMMAND_SCHEMA = "gateway-command/1"
ACK_SCHEMA = "gateway-ack/1"
ACCOUNTING_SCHEMA = "gateway-accounting/1"
SESSION_END_SCHEMA = "gateway-session-end/1"

#: The largest count or id either side stores (SQLite's INTEGER).
_INT_MAX = 2 ** 63 - 1

#: What a gateway id may look like (it is a topic level and a file name on the gateway).
GATEWAY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


#: The command's ``action``.
ALLOW = "allow"
DENY = "deny"


def topic(gateway_id: str, kind: str) -> str:
    """``gateway/<id>/<kind>``; ``+`` as the id subscribes to every gateway."""
    return f"gateway/{gateway_id}/{kind}"


@dataclass(frozen=True, slots=True)
class SessionGrant:
    """What a gateway must enforce for one authorised client: the body of an allow command."""

    #: The portal's session id; acks, accounting and session ends name it.
    session_id: int
    mac: str
    ip: str
    #: Unix time at which the session ends (the gateway sets the nft element timeout from it).
    expires_at: float
    #: Bytes up + down; 0 = no quota.
    quota_bytes: int
    #: Seconds without traffic that end the session; 0 = none.
    idle_timeout_s: int
    #: 0 = not limited.
    rate_up_kbps: int
    rate_down_kbps: int

    def to_payload(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "mac": self.mac, "ip": self.ip,
                "expires_at": self.expires_at, "quota_bytes": self.quota_bytes,
                "idle_timeout_s": self.idle_timeout_s, "rate_up_kbps": self.rate_up_kbps,
                "rate_down_kbps": self.rate_down_kbps}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SessionGrant:
        """The grant an allow command carries.

        KeyError, TypeError or ValueError when a field is missing, of the wrong type or out of
        range (times finite, counts from 0 to 2^63-1), or the MAC or IPv4 address is not one; a
        MAC in another usual spelling is normalised.
        """
        try:
            grant = cls(session_id=int(payload["session_id"]),
                        mac=normalise_mac(str(payload["mac"])), ip=ipv4(str(payload["ip"])),
                        expires_at=float(payload["expires_at"]),
                        quota_bytes=int(payload["quota_bytes"]),
                        idle_timeout_s=int(payload["idle_timeout_s"]),
                        rate_up_kbps=int(payload["rate_up_kbps"]),
                        rate_down_kbps=int(payload["rate_down_kbps"]))
        except OverflowError as exc:  # int(inf), float() of a huge integer
            raise ValueError(str(exc)) from None
        if not math.isfinite(grant.expires_at):
            raise ValueError("expires_at: not a finite time")
        for name in ("session_id", "quota_bytes", "idle_timeout_s", "rate_up_kbps",
                     "rate_down_kbps"):
            if not 0 <= getattr(grant, name) <= _INT_MAX:
                raise ValueError(f"{name}: out of range")
        return grant


def allow_command(command_id: str, grant: SessionGrant, valid_until: float) -> dict[str, Any]:
    """The allow command for ``grant`` (``schema`` and ``sent_at`` are added on publishing).

    ``valid_until`` (unix seconds) is when the sender stops waiting for the ack: a gateway
    receiving the command later refuses it as stale.
    """
    return {"command_id": command_id, "action": ALLOW, "valid_until": valid_until,
            **grant.to_payload()}


def deny_command(command_id: str, session_id: int, mac: str, ip: str, reason: str,
                 valid_until: float) -> dict[str, Any]:
    """The deny command ending ``session_id`` (``reason``: logout, admin...)."""
    return {"command_id": command_id, "action": DENY, "valid_until": valid_until,
            "session_id": session_id, "mac": mac, "ip": ip, "reason": reason}


def ipv4(text: str) -> str:
    """``text`` if it is a dotted-quad IPv4 address, else ValueError."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
        raise ValueError(f"not an IPv4 address: {text!r}")
    return text


__all__ = ["ACCOUNTING_SCHEMA", "ACK_SCHEMA", "ALLOW", "COMMAND_SCHEMA", "DENY", "GATEWAY_ID",
           "SESSION_END_SCHEMA", "SessionGrant", "allow_command", "deny_command", "ipv4",
           "topic"]
