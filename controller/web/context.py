"""What a request needs: the app's runtime objects, a per-request store and the signed-in user.

Pages and the API share the role checks here; they differ only in how they refuse (a redirect to
the login page or a 403 page for the UI, a JSON error for the API).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from controller import auth
from controller.monitoring.published import SnapshotReader, SnapshotSource
from controller.web.security import LoginGuard
from core.config import Config
from core.mqtt import LinkHealth
from core.secrets import SecretBox
from core.store import Store


@dataclass
class Runtime:
    """The long-lived objects one admin app works with (kept in ``app.extensions["oasis"]``)."""
    config: Config
    #: Where the monitoring snapshot comes from: the store, as the pollers publish it (or a
    #: live `Snapshot` given to the app). Requests read it through `snapshot()`.
    snapshot: SnapshotSource
    secret_box: SecretBox
    store_path: str | Path  # a SQLite file or a postgresql:// URL
    mqtt_publish: Callable[[str, dict[str, Any]], object] | None
    login_limiter: LoginGuard
    #: Wakes the provisioning worker after a job is queued (None: it finds the job by polling).
    provisioning_wake: Callable[[], None] | None = None
    #: The health of the process's MQTT links, for /healthz and /metrics (none in an app alone).
    links: Callable[[], list[LinkHealth]] = list


def runtime() -> Runtime:
    return current_app.extensions["oasis"]


def store() -> Store:
    """This request's store, opened on first use and closed at teardown."""
    if "store" not in g:
        g.store = Store(runtime().store_path, migrate=False)
    return g.store


def snapshot() -> SnapshotReader:
    """The monitoring snapshot as this request reads it (one picture for the whole request)."""
    if "snapshot" not in g:
        g.snapshot = runtime().snapshot.current(store())
    return g.snapshot


def _close_store(_exc: BaseException | None) -> None:
    opened = g.pop("store", None)
    if opened is not None:
        opened.close()


#: The session cookie's key for the session's id (the store keeps its SHA-256).
SESSION_ID = "sid"


def session_user() -> auth.User | None:
    """The user of the session cookie, looked up in the store each request: a session signed
    out (in any worker) is refused at once, and role changes apply at the next click."""
    if "session_user" not in g:
        g.session_user = auth.session_user(store(), session.get(SESSION_ID))
    return g.session_user


def signed_in_user() -> auth.User:
    """The session's user, in a view behind `page_role` (which lets no one else through)."""
    user = session_user()
    assert user is not None, "the view is not behind page_role"
    return user


def current_user() -> auth.User | None:
    """Whoever this request acts for: an API token's user, or else the session's."""
    return g.get("api_user") or session_user()


def actor(user: auth.User) -> str:
    """The audit log's name for a change: ``web:<user>`` from pages, ``api:<user>`` from the API.

    The API's authentication names its channel for the request; pages leave it unset.
    """
    return f"{g.get('audit_channel', 'web')}:{user.username}"


def announce(kind: str, action: str, ref: object) -> None:
    """Tell listeners (the poller) that the inventory changed, when MQTT is wired in."""
    publish = runtime().mqtt_publish
    if publish is not None:
        publish("inventory/changed", {"kind": kind, "action": action, "ref": str(ref)})


def page_role(role: str):
    """Decorate a page view: sign-in required (redirect) and at least ``role`` (else 403)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = session_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not user.can(role):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_close_store)

    @app.context_processor
    def _template_globals() -> dict:
        return {"current_user": session_user()}
