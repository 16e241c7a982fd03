"""The login funnel and login failures, counted as visitors walk through the login pages.

Steps, per site (the gateway's) and hour (`captive_portal.usage.count`, one atomic upsert):

- ``redirect``: a visitor's device reached the landing page with a gateway's redirect
  parameters (whether or not they verify);
- ``portal``: the landing page was shown (the redirect verified);
- ``step``: the terms were accepted, or a login code was sent;
- ``online``: the gateway acked the session (counted in `captive_portal.access.grant`).

A refusal on the login pages (a `PortalError`: wrong or expired code, stale or forged link,
rate limits, the gateway's timeout...) is counted under its error code. The site comes from
the gateway id the request carries, and only for a registered gateway ('' otherwise), so a
forged id cannot make up sites.
"""

from __future__ import annotations

from flask import Flask, Response, g, request

from captive_portal import usage
from captive_portal.context import portal

#: The login endpoints whose requests count (the landing page and the two flows).
LOGIN_ENDPOINTS = frozenset({"login.landing", "login.terms", "login.phone", "login.code"})


def init_app(app: Flask) -> None:
    app.after_request(_after_login_request)


def _after_login_request(response: Response) -> Response:
    endpoint = request.endpoint
    if endpoint not in LOGIN_ENDPOINTS:
        return response
    ctx = portal()
    store, at = ctx.store, ctx.clock()
    site = usage.site_of_gateway(store, request.values.get("gw"))
    failure = g.get("portal_error")
    if endpoint == "login.landing" and request.method == "GET" and request.args.get("gw"):
        usage.count(store, at, site, "funnel", "redirect")
        if response.status_code == 200:
            usage.count(store, at, site, "funnel", "portal")
    elif _step_taken(endpoint, response, failure):
        usage.count(store, at, site, "funnel", "step")
    if failure is not None:
        usage.count(store, at, site, "failure", failure)
    return response


def _step_taken(endpoint: str, response: Response, failure: str | None) -> bool:
    """The terms were accepted (even if the gateway then failed to answer), or a code sent."""
    if endpoint == "login.terms":
        return request.form.get("accept") == "yes" and failure in (None, "gateway_unavailable")
    return endpoint == "login.phone" and response.status_code == 200


__all__ = ["LOGIN_ENDPOINTS", "init_app"]
