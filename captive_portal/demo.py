"""`oasis run --demo` only: a way in for a visitor with no park gateway in front of them.

In a park, the gateway redirects a new device to the portal with signed facts about it (MAC,
address, what it asked for). The demo has no gateway in front of the browser, so the portal's
root would only say the link is missing. With ``PortalSettings.demo`` on (set by ``oasis run
--demo``, never read from a config file), ``/demo/visitor`` makes up a device, signs its claim
with the key of the demo's gateway (`DEMO_GATEWAY`, registered by the demo) and redirects to the
landing page, as a gateway would; the root without redirect parameters goes there too. The
logins that follow are acked by the demo's gateway, which enforces nothing
(`agents.gateway.demo`).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import Blueprint, Flask, redirect, request, url_for

from captive_portal.context import portal
from captive_portal.errors import PortalError
from core.contracts.signature import ClientClaim, sign

#: The id the demo registers its gateway under.
DEMO_GATEWAY = "demo"

bp = Blueprint("demo", __name__)


def made_up_device() -> tuple[str, str]:
    """A random locally administered MAC and an address in 10.0.0.0/8, as a phone would get."""
    octets = [0x02] + list(secrets.token_bytes(5))
    mac = ":".join(f"{octet:02x}" for octet in octets)
    host = secrets.randbelow(254 * 254)
    return mac, f"10.77.{host // 254 + 1}.{host % 254 + 1}"


@bp.get("/demo/visitor")
def visitor():
    ctx = portal()
    key = ctx.gateway_key(DEMO_GATEWAY)
    if key is None:
        raise PortalError("signature_unknown_gateway")
    mac, ip = made_up_device()
    claim = ClientClaim(DEMO_GATEWAY, mac, ip, "", int(ctx.clock()))
    return redirect(url_for("login.landing") + "?" + urlencode(sign(claim, key)), code=303)


def _root_to_visitor():
    """The portal's root without a gateway's parameters: as a new device, in the demo."""
    if request.endpoint == "login.landing" and not request.args.get("gw"):
        return redirect(url_for("demo.visitor"), code=303)
    return None


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request(_root_to_visitor)


__all__ = ["DEMO_GATEWAY", "bp", "init_app", "made_up_device"]
