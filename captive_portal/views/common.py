"""Helpers every portal view uses: the verified client claim and the post rate limit."""

from __future__ import annotations

from flask import request

from captive_portal.context import portal
from captive_portal.errors import PortalError
from core.contracts.signature import ClientClaim, SignatureError, verify
from core.contracts.signature import carried as signed_params

#: Flask session key holding the visitor's portal session id after login.
SESSION_KEY = "visitor_session"


def verified_claim(source) -> ClientClaim:
    """The gateway's claim about this visitor, or PortalError if missing, forged or stale."""
    ctx = portal()
    try:
        return verify(source, ctx.gateway_key, ctx.clock(), ctx.config.signature_max_age_s)
    except SignatureError as exc:
        raise PortalError(exc.code) from None


def limit_posts() -> None:
    """Refuse the post with 429 if this client posted too often in the last minute."""
    if not portal().post_limit.hit(request.remote_addr or "unknown"):
        raise PortalError("too_many_requests")


__all__ = ["SESSION_KEY", "limit_posts", "signed_params", "verified_claim"]
