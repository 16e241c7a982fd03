"""The admin web app: UI for network engineers, the REST API under /api/v1/ and /metrics.

Built by `create_app` (an app factory, as in Flask's tutorial): nothing imports a global app, and
every request opens its own `Store`, because SQLite connections are not shared across threads and
the WSGI server serves each request on a worker thread. Monitoring values come from the snapshot the
pollers publish in the store; no request ever talks to a device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from controller.monitoring.published import PublishedSnapshots, SnapshotSource
from controller.web import context, errors, formatting, history, i18n, params, security, sms_hooks
from controller.web import awareness as awareness_pages
from controller.web import reports as report_pages
from controller.web.api import BLUEPRINTS as API_BLUEPRINTS
from controller.web.api import bp as api_bp
from controller.web.views import (
    alerts,
    aps,
    audit_log,
    auth,
    branches,
    dashboard,
    health,
    maintenance,
    metrics,
    notifications,
    provisioning,
    site_map,
    sites,
    users,
)
from core.config import Config
from core.mqtt import LinkHealth
from core.secrets import SecretBox
from core.store import Store
from reporting.web import pages_blueprint as kpi_pages

#: Request bodies beyond this are refused (413) before any parsing.
MAX_BODY_BYTES = 1 << 20

MqttPublish = Callable[[str, dict[str, Any]], object]


def create_app(config: Config, *, secret_box: SecretBox, snapshot: SnapshotSource | None = None,
               mqtt_publish: MqttPublish | None = None,
               store_path: str | Path | None = None,
               provisioning_wake: Callable[[], None] | None = None,
               links: Callable[[], list[LinkHealth]] | None = None) -> Flask:
    """The admin app for ``config``.

    ``snapshot``: where monitoring values come from; by default the snapshot the pollers publish
    in the store (any node's admin app sees every poller's APs), or a live `Snapshot` (read only
    here); ``secret_box`` encrypts device secrets on their
    way into the store; ``mqtt_publish(topic_suffix, payload)``, when given, announces inventory
    changes so the poller can reload; ``store_path`` overrides ``config.store.path``;
    ``provisioning_wake()``, when given, tells the provisioning worker a job was just queued;
    ``links()`` gives the health of the process's MQTT links (``/healthz``, ``/metrics``).
    """
    app = Flask(__name__)
    app.url_map.converters["int"] = params.StoreInt  # before any route: ids the store can hold
    path = store_path if store_path else config.store_location()
    store = Store(path)  # apply migrations once, before the first request
    try:
        secret_key = security.session_secret(config, store, secret_box)
    finally:
        store.close()
    app.config.update(
        SECRET_KEY=secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(config.admin.secure_cookies),
        SESSION_COOKIE_NAME="oasis_admin",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=config.admin.session_hours),
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        JSON_SORT_KEYS=False,
    )
    app.extensions["oasis"] = context.Runtime(
        config=config,
        snapshot=snapshot if snapshot is not None else PublishedSnapshots(config.monitoring.group),
        secret_box=secret_box, store_path=path,
        mqtt_publish=mqtt_publish, login_limiter=security.LoginGuard(),
        provisioning_wake=provisioning_wake, links=links or list)

    csrf = CSRFProtect()
    csrf.init_app(app)
    for blueprint in API_BLUEPRINTS:  # token-authenticated; the session cookie only for GETs
        csrf.exempt(blueprint)
    sms_hooks.init_app(app, csrf)  # gateways' callbacks, authenticated by [sms] hook_secret
    context.init_app(app)
    security.init_app(app)
    i18n.init_app(app, config.admin.default_locale)
    formatting.init_app(app)
    history.init_app(app)
    errors.init_app(app)

    for blueprint in (auth.bp, dashboard.bp, sites.bp, aps.bp, alerts.bp, audit_log.bp, users.bp,
                      provisioning.bp, branches.bp, report_pages.bp, awareness_pages.bp,
                      metrics.bp, health.bp,
                      maintenance.bp, notifications.bp, site_map.bp,
                      api_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(kpi_pages(context.page_role("viewer")))  # Reports (KPIs)
    return app


__all__ = ["create_app"]
