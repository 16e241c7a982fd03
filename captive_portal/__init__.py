"""The visitor-facing captive portal: a Flask app built by `create_app`.

Blueprints: ``pages`` (terms, health), ``login`` (landing page, terms click-through, phone +
SMS code), ``status`` (time/data left, logout). Extensions are set up per app (Flask-Babel,
Flask-WTF CSRF) and everything the views need sits on a `PortalContext` in
``app.extensions["oasis_portal"]``. Later areas (940 report pages, Open311 under
``/open311/v2/``) add their own blueprints to the same app; see docs/portal.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask

from captive_portal import demo, errors, i18n, open311, security, views
from captive_portal.config import PortalSettings
from captive_portal.context import EXTENSION, PortalContext, StoreProvider
from captive_portal.gateways import GatewayControl
from captive_portal.reports import web as reports_web
from captive_portal.sms import SmsService
from captive_portal.views import capture
from core.mqtt import LinkHealth
from core.secrets import SecretBox


def create_app(settings: PortalSettings | None = None, *, store_path: str,
               secret_box: SecretBox, gateway: GatewayControl, sms: SmsService | None = None,
               secret_key: bytes | None = None, clock: Callable[[], float] = time.time,
               testing: bool = False,
               links: Callable[[], list[LinkHealth]] | None = None,
               timezone: str = "Asia/Riyadh") -> Flask:
    """Build the portal app.

    ``gateway`` is how logins reach the park gateways (`captive_portal.gateway_link` over MQTT
    in production). ``sms`` defaults to the driver named in ``settings.sms``. ``secret_key``
    defaults to the key every portal node shares in the store (`security.shared_secret_key`;
    an older release's ``portal.secret_key_file`` becomes it on the first start). ``links()``
    gives the health of the process's MQTT links for ``/healthz``. ``timezone`` is the
    municipality's (visitor hashes are renewed each of its calendar months).
    """
    settings = settings or PortalSettings()
    app = Flask(__name__)
    stores = StoreProvider(store_path)
    key = secret_key or security.shared_secret_key(stores(), secret_box,
                                                   settings.portal.secret_key_file)
    app.config.update(SECRET_KEY=key, TESTING=testing, MAX_CONTENT_LENGTH=64 * 1024,
                      PORTAL_DEFAULT_LOCALE=settings.portal.default_locale)
    app.extensions[EXTENSION] = context = PortalContext(settings, stores, secret_box, gateway,
                                                        sms, clock, key, timezone)
    if links is not None:
        context.links = links
    security.init_app(app, secure_cookies=settings.portal.secure_cookies)
    i18n.init_app(app)
    errors.init_app(app)
    views.register(app)
    capture.init_app(app)
    reports_web.init_app(app)
    open311.init_app(app)
    if settings.demo:  # `oasis run --demo`: a made-up device's way in (no gateway in front)
        demo.init_app(app)
    return app


__all__ = ["create_app"]
