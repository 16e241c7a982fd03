"""The signed redirect: the contract between a gateway's redirector and the portal.

The gateway knows who the client is (MAC from its neighbour table, IP, the URL it asked for,
and the access point it associated with, when the AP tags its DHCP with option 82); the portal
must be able to trust that without reaching back to the gateway. So the redirector puts those
facts in the portal URL with a timestamp and an HMAC-SHA256 over all of them, keyed with a secret
only that gateway and the controller hold. A missing, forged or stale signature is refused by
the portal (`verify`), which also stops anyone from logging in someone else's MAC.

Version 2 added the AP (``ap``, left out of the URL when unknown). A version-1 signature (from
a gateway not yet upgraded, which never sends ``ap``) is still accepted, so gateways and portal
can be upgraded in either order.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from core.errors import CodedError

#: Bumped if the signed string ever changes, so old and new gateways can be told apart.
VERSION = "2"
PARAMS = ("gw", "mac", "ip", "url", "ts", "sig", "ap")
#: Parameters a redirect must carry; ``url`` may be empty and ``ap`` absent (version 1) or empty.
REQUIRED = ("gw", "mac", "ip", "ts", "sig")
#: An AP identity as DHCP option 82 carries it (a name, a MAC, ``MAC:SSID``...): printable text.
AP_MAX = 100
_AP = re.compile(rf"^[\x21-\x7e][\x20-\x7e]{{0,{AP_MAX - 1}}}$")


class SignatureError(CodedError, ValueError):
    """The redirect parameters are missing, malformed, forged or too old.

    ``code`` is a stable key the portal turns into a translated message.
    """

    code_in_text = True


@dataclass(frozen=True)
class ClientClaim:
    """What the gateway vouches for about the visitor being redirected."""

    gateway_id: str
    mac: str
    ip: str
    url: str
    timestamp: int
    #: The AP the client is behind, as its DHCP option 82 named it; "" when unknown.
    ap: str = ""


def normalise_mac(mac: str) -> str:
    """``AA-BB-...`` or ``aabb.ccdd...`` to ``aa:bb:cc:dd:ee:ff``; ValueError if not a MAC."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac or "").lower()
    if len(digits) != 12 or len(re.sub(r"[0-9a-fA-F:.-]", "", mac or "")) != 0:
        raise ValueError(f"not a MAC address: {mac!r}")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def clean_ap(value: str | None) -> str:
    """An AP identity fit to sign and store: printable ASCII, at most AP_MAX; else ""."""
    value = (value or "").strip()
    return value if _AP.match(value) else ""


def _message(claim: ClientClaim, version: str = VERSION) -> bytes:
    fields = [f"v{version}", claim.gateway_id, claim.mac, claim.ip, claim.url,
              str(claim.timestamp)]
    if version != "1":
        fields.append(claim.ap)
    return "\n".join(fields).encode("utf-8")


def sign(claim: ClientClaim, key: bytes) -> dict[str, str]:
    """The query parameters the redirector appends to the portal URL."""
    digest = hmac.new(key, _message(claim), hashlib.sha256).hexdigest()
    params = {"gw": claim.gateway_id, "mac": claim.mac, "ip": claim.ip, "url": claim.url,
              "ts": str(claim.timestamp), "sig": digest}
    if claim.ap:
        params["ap"] = claim.ap
    return params


def parse(params) -> ClientClaim:
    """A `ClientClaim` from query parameters, not yet verified; SignatureError if incomplete."""
    # url may be empty: the RFC 8908 API's portal link is not the answer to any request.
    missing = [name for name in REQUIRED if not params.get(name)]
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
    ap = params.get("ap") or ""
    if ap and clean_ap(ap) != ap:
        raise SignatureError("signature_malformed", "ap")
    return ClientClaim(params["gw"], mac, params["ip"], url, timestamp, ap)


def carried(params) -> dict[str, str]:
    """The redirect parameters as they came, to carry from page to page in forms.

    ``ap`` is carried only if it came (a signer with no AP to vouch for leaves it out).
    """
    return {name: params.get(name, "") for name in PARAMS if name != "ap" or name in params}


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
    # Without ``ap`` the signer is either version 2 with no AP known, or version 1.
    versions = (VERSION,) if claim.ap else (VERSION, "1")
    given = str(params["sig"]).lower()
    if not any(hmac.compare_digest(hmac.new(key, _message(claim, version),
                                            hashlib.sha256).hexdigest(), given)
               for version in versions):
        raise SignatureError("signature_invalid")
    # A little tolerance for clocks running ahead on the gateway, none for replays from the past.
    if not -30 <= now - claim.timestamp <= max_age_s:
        raise SignatureError("signature_stale", f"age {now - claim.timestamp:.0f}s")
    return claim


__all__ = ["AP_MAX", "ClientClaim", "PARAMS", "REQUIRED", "SignatureError", "carried",
           "clean_ap", "normalise_mac", "parse", "sign", "verify"]
