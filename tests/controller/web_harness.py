"""The one harness for the admin app (pages and REST API): the app, users and their sign-in,
provisioning variables, and poller results (no tests of its own; sites and APs: tests/fleet.py).

The snapshot built here stands in for the poller: the web app only ever reads it.
"""

from __future__ import annotations

import re
import time

from controller import auth
from controller.monitoring.snapshot import ApState, ApStatus, CycleStats, InterfaceStatus, Snapshot
from controller.web import create_app

PASSWORD = "correct horse battery"
SECRET_VALUES = ("s3cret-community", "auth-key-1234", "priv-key-5678", "ssh-pass-9999")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_app(config, secrets, snapshot: Snapshot | None = None, published: list | None = None,
              woken: list | None = None):
    """The admin app. ``published`` collects what it would announce over MQTT; ``woken``
    records each time it would wake the provisioning worker (one ``True`` a call)."""
    app = create_app(config, snapshot=snapshot or Snapshot(), secret_box=secrets,
                     mqtt_publish=(lambda topic, payload: published.append((topic, payload)))
                     if published is not None else None,
                     provisioning_wake=(lambda: woken.append(True)) if woken is not None
                     else None)
    app.config["TESTING"] = True
    # Tests read the pages in English unless they ask for a language (test_admin_i18n does);
    # the app's own default, for a browser that asks for neither, is Arabic.
    app.config["ADMIN_DEFAULT_LOCALE"] = "en"
    return app


def add_user(store, username: str, role: str) -> auth.User:
    return auth.create_user(store, username, PASSWORD, role, "test")


def bearer(store, username: str, role: str) -> dict:
    """API headers for a new user of ``role`` with a fresh token."""
    add_user(store, username, role)
    return {"Authorization": f"Bearer {auth.create_token(store, username, 'test', 'test')}"}


def error_of(response) -> dict:
    """The ``error`` object of an API error response (which must be JSON)."""
    assert response.is_json, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]


def csrf_token(client, path: str = "/login") -> str:
    page = client.get(path)
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path} ({page.status_code})"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})


def post_form(client, path: str, data: dict, *, token_from: str | None = None):
    """POST a form the way a browser would: with the CSRF token of the page it came from."""
    token = csrf_token(client, token_from or path)
    return client.post(path, data={**data, "csrf_token": token})


def status(ap: dict, **values) -> ApStatus:
    """A poller result for ``ap``: up with two interfaces unless ``values`` say otherwise."""
    now = time.time()
    base = dict(ap_id=ap["id"], name=ap["name"], state=ApState.UP, polled_at=now - 5,
                answered_at=now - 5, sys_descr="OpenWrt 23.05 test", sys_name=ap["name"],
                uptime_s=90061.0, clients=17, in_bps=12_500_000.0, out_bps=3_250_000.0,
                errors_ps=0.25, poll_ms=12.0,
                interfaces=(InterfaceStatus(1, "lo"),
                            InterfaceStatus(2, "wlan0", in_octets=123456789, out_octets=987654321,
                                            in_bps=12_500_000.0, out_bps=3_250_000.0,
                                            errors_ps=0.25)))
    return ApStatus(**(base | values))


def cycle(snapshot: Snapshot, *, polled: int, answered: int, duration: float = 1.5) -> None:
    snapshot.finish_cycle(CycleStats(time.time() - duration, duration, polled, answered,
                                     polled - answered))


# ---- provisioning ------------------------------------------------------------------------------

VARIABLES = {
    "radios": {"2g": {"channel": 6, "tx_power": 17}},
    "ssids": [{"id": "public", "ssid": "Amanah WiFi"}],
}


def arabic_ssid(size: int) -> str:
    """An Arabic SSID of exactly ``size`` bytes in UTF-8 (2 bytes a letter, 1 a space)."""
    text = "واي فاي الأمانة"
    while len(text.encode("utf-8")) + 2 <= size:
        text += "ة"
    return text + " " * (size - len(text.encode("utf-8")))
