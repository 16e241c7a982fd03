"""What one portal app holds: settings, per-thread stores, gateway keys, SMS, rate limiters.

Everything lives on this object in ``app.extensions["oasis_portal"]`` (never in module globals),
so two apps in one process (tests, or the portal next to the admin app) never share state.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import current_app

from captive_portal import usage
from captive_portal.config import PortalSettings
from captive_portal.gateways import GatewayControl, GatewayKeys
from captive_portal.sms import SmsService, make_driver
from core.limits import RateLimit
from core.mqtt import LinkHealth
from core.secrets import SecretBox
from core.store import Store

EXTENSION = "oasis_portal"


class StoreProvider:
    """One `Store` per thread (SQLite connections are not shared across threads)."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Store] = []

    def __call__(self) -> Store:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.path)
            with self._lock:
                self._opened.append(store)
        return store

    def close_all(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()


class PortalContext:
    def __init__(self, settings: PortalSettings, stores: StoreProvider, secret_box: SecretBox,
                 gateway: GatewayControl, sms: SmsService | None,
                 clock: Callable[[], float], secret_key: bytes, timezone: str = "Asia/Riyadh"):
        self.settings = settings
        self.config = settings.portal
        self.stores = stores
        self.secret_box = secret_box
        self.gateway = gateway
        self.clock = clock
        #: The app's signing key, also the pepper of one-time code hashes.
        self.secret_key = secret_key
        #: The key of visitor hashes (`captive_portal.usage`), and the zone whose calendar
        #: months they are renewed in (``[municipality] timezone``).
        self.visitor_key = usage.visitor_key(secret_key)
        self.timezone = timezone
        self.sms = sms or SmsService(stores, make_driver(settings.sms), settings.sms, clock=clock)
        #: Form posts per client address per minute, counted in the store: every worker and
        #: node serving the portal shares one count.
        self.post_limit = RateLimit(stores, "portal-posts", self.config.posts_per_minute, 60.0,
                                    clock)
        self._keys = GatewayKeys(secret_box)
        #: The health of this process's MQTT links, for /healthz (none in an app alone).
        self.links: Callable[[], list[LinkHealth]] = list

    @property
    def store(self) -> Store:
        return self.stores()

    def gateway_key(self, gateway_id: str) -> bytes | None:
        """The HMAC key the store holds now for a registered gateway, or None."""
        return self._keys.get(self.store, gateway_id)


def portal() -> PortalContext:
    """The current app's portal context (inside a request or app context)."""
    return current_app.extensions[EXTENSION]


__all__ = ["EXTENSION", "PortalContext", "StoreProvider", "portal"]
