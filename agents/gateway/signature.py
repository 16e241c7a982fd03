"""The signed redirect: the contract between a gateway's redirector and the portal.

The gateway knows who the client is (MAC from its neighbour table, IP, the URL it asked for);
the portal must be able to trust that without reaching back to the gateway. So the redirector
puts those facts in the portal URL with a timestamp and an HMAC-SHA256 over all of them, keyed
with a secret only that gateway and the controller hold. A missing, forged or stale signature is
refused by the portal (`verify`), which also stops anyone from logging in someone else's MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

#: Bumped if the signed string ever changes, so old and new gateways can be told apart.
VERSION = "1"
PARAMS = ("gw", "mac", "ip", "url", "ts", "sig")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class SignatureError(ValueError):
    """The redirect parameters are missing, malformed, forged or too old.

    ``code`` is a stable key the portal turns into a translated message.
    """

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code


@dataclass(frozen=True)
class ClientClaim:
    """What the gateway vouches for about the visitor being redirected."""

    gateway_id: str
    mac: str
    ip: str
    url: str
    timestamp: int


def normalise_mac(mac: str) -> str:
    """``AA-BB-...`` or ``aabb.ccdd...`` to ``aa:bb:cc:dd:ee:ff``; ValueError if not a MAC."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac or "").lower()
    if len(digits) != 12 or len(re.sub(r"[0-9a-fA-F:.-]", "", mac or "")) != 0:
        raise ValueError(f"not a MAC address: {mac!r}")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def _message(claim: ClientClaim) -> bytes:
    return "\n".join((f"v{VERSION}", claim.gateway_id, claim.mac, claim.ip, claim.url,
                      str(claim.timestamp))).encode("utf-8")


def sign(claim: ClientClaim, key: bytes) -> dict[str, str]:
    """The query parameters the redirector appends to the portal URL."""
    digest = hmac.new(key, _message(claim), hashlib.sha256).hexdigest()
    return {"gw": claim.gateway_id, "mac": claim.mac, "ip": claim.ip, "url": claim.url,
            "ts": str(claim.timestamp), "sig": digest}


def parse(params) -> ClientClaim:
    """A `ClientClaim` from query parameters, not yet verified; SignatureError if incomplete."""
    # url may be empty: the RFC 8908 API's portal link is not the answer to any request.
    missing = [name for name in PARAMS if name != "url" and not params.get(name)]
    if missing:
        raise SignatureError("signature_missing", ",".join(missing))
    try:
        mac = normalise_mac(params["mac"])
        timestamp = int(params["ts"])
    except ValueError as exc:
        raise SignatureError("signature_malformed", str(exc)) from None
    url = params.get("url") or ""
    if len(url) > 2048:
        raise SignatureError("signature_malformed", "url too long")
    return ClientClaim(params["gw"], mac, params["ip"], url, timestamp)


def verify(params, key_for, now: float, max_age_s: float) -> ClientClaim:
    """Check the signature and freshness of redirect parameters.

    ``key_for(gateway_id)`` returns that gateway's key or None for an unknown gateway. Raises
    SignatureError with code ``signature_missing``, ``signature_malformed``,
    ``signature_unknown_gateway``, ``signature_invalid`` or ``signature_stale``.
    """
    claim = parse(params)
    key = key_for(claim.gateway_id)
    if key is None:
        raise SignatureError("signature_unknown_gateway", claim.gateway_id)
    expected = hmac.new(key, _message(claim), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(params["sig"]).lower()):
        raise SignatureError("signature_invalid")
    # A little tolerance for clocks running ahead on the gateway, none for replays from the past.
    if not -30 <= now - claim.timestamp <= max_age_s:
        raise SignatureError("signature_stale", f"age {now - claim.timestamp:.0f}s")
    return claim


__all__ = ["ClientClaim", "PARAMS", "SignatureError", "normalise_mac", "parse", "sign", "verify"]
