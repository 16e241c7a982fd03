"""Granting and revoking access: the step between a successful login and the gateway.

`grant` opens a pending session, asks the gateway to allow the device and waits for its ack, so
the visitor's next page load already goes out to the internet. A gateway that refuses or does
not answer in time leaves no active session behind: the visitor is told to retry.
"""

from __future__ import annotations

import logging

from captive_portal import usage
from captive_portal.context import PortalContext
from captive_portal.errors import PortalError
from captive_portal.sessions import Sessions, VisitorSession
from core.contracts.signature import ClientClaim

log = logging.getLogger(__name__)


def grant(ctx: PortalContext, claim: ClientClaim, method: str, phone: str | None,
          locale: str) -> VisitorSession:
    sessions = Sessions(ctx.store, ctx.clock)
    visitor = usage.visitor_hash(ctx.visitor_key, claim.mac, ctx.clock(), ctx.timezone)
    session = sessions.open(claim, method, phone, locale, ctx.config, visitor)
    ack = ctx.gateway.allow(claim.gateway_id, session.grant(), ctx.config.gateway_ack_timeout_s)
    if not ack.ok:
        sessions.end(session.id, "gateway_failed")
        log.warning("gateway %s did not allow session %s: %s", claim.gateway_id, session.id,
                    ack.error)
        raise PortalError("gateway_unavailable")
    if sessions.activate(session.id):
        usage.count(ctx.store, ctx.clock(), session.site or "", "funnel", "online")
    active = sessions.get(session.id)
    assert active is not None  # opened and activated just above
    return active


def revoke(ctx: PortalContext, session: VisitorSession, reason: str) -> bool:
    """Close ``session`` and tell its gateway; the session ends here even if the gateway is
    unreachable (its own timeout then removes the client)."""
    sessions = Sessions(ctx.store, ctx.clock)
    ack = ctx.gateway.deny(session.gateway_id, session.id, session.mac, session.ip, reason,
                           ctx.config.gateway_ack_timeout_s)
    if not ack.ok:
        log.warning("gateway %s did not ack deny of session %s: %s", session.gateway_id,
                    session.id, ack.error)
    sessions.end(session.id, reason)
    return ack.ok


__all__ = ["grant", "revoke"]
