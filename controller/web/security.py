"""The session secret every admin node shares, sign-in lockouts, the return address after sign-in, and the security headers
of every response."""

from __future__ import annotations

import hashlib
import hmac
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flask import Flask, Response
from flask_babel import gettext

from controller import auth
from core import limits
from core.config import Config
from core.files import ensure_private
from core.secrets import SecretBox
from core.shared_secrets import shared_secret
from core.store import Store

#: No inline script or style anywhere: charts are inline SVG with presentation attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

_SESSION_KEY_LABEL = b"oasis-edge admin session key v1"
#: The admin app's signing key (sessions and CSRF tokens) in `core.shared_secrets`.
SESSION_SECRET = "admin-session"


def session_secret(config: Config, store: Store, secret_box: SecretBox) -> bytes:
    """Flask's signing key (session cookies and CSRF tokens), the same on every admin node.

    Kept in the store (`core.shared_secrets`), created by the first node to start: a sign-in
    made through one node holds on the next request whichever node answers it. On the first
    start after an upgrade the key the release before used (derived from the key file, or a
    ``.session`` file beside it) becomes the shared one, so nobody is signed out.
    """
    return shared_secret(store, secret_box, SESSION_SECRET,
                         legacy=lambda: _legacy_session_key(config))


def _legacy_session_key(config: Config) -> bytes | None:
    """The key of the release before: an HMAC of a fixed label keyed with the store's key
    file, or the random key kept beside it when there was no key file yet."""
    key_file = config.resolve_path(config.store.key_file)
    if key_file.exists():
        ensure_private(key_file)
        return hmac.new(key_file.read_bytes().strip(), _SESSION_KEY_LABEL, hashlib.sha256).digest()
    own = key_file.with_name(key_file.name + ".session")
    if own.exists():
        ensure_private(own)
        return own.read_bytes() or None
    return None


@dataclass(frozen=True)
class LoginPolicy:
    """How many wrong passwords the sign-in page tolerates, and from whom.

    A lockout is per user *and* address: someone elsewhere typing the admin's name with wrong
    passwords locks only themselves out, never the admin. One address trying many usernames is
    locked on its own count. Many addresses guessing one user's password (a botnet, each
    address below its own lockout) meet a ceiling per user: past it, sign-ins to that user from
    addresses it has not signed in from lately are slowed to one attempt per ``slow_interval_s``
    for all of them together, not locked; its usual addresses are not slowed at all.
    """
    pair_failures: int = 5
    pair_window_s: float = 300.0
    address_failures: int = 20
    address_window_s: float = 300.0
    user_ceiling: int = 20
    user_window_s: float = 3600.0
    slow_interval_s: float = 30.0
    #: Where a user signed in successfully within this long is "their usual address".
    known_address_s: float = 30 * 86400.0


#: A user's failures keep being counted past the ceiling (so a sustained guess stays slowed),
#: up to this many rows a user.
_USER_COUNT_CAP = 1000


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in attempt is not even checked, and when to try again."""
    message: str
    retry_after_s: float


class LoginGuard:
    """The sign-in page's lockouts, counted in the store (`core.limits`) so that they hold
    across the admin app's worker threads and processes, and across nodes sharing a store."""

    def __init__(self, policy: LoginPolicy = LoginPolicy(),
                 clock: Callable[[], float] = time.time):
        self.policy = policy
        self._clock = clock

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str, str]:
        return (f"admin-login-pair:{username}|{address}", f"admin-login-address:{address}",
                f"admin-login-user:{username}")

    def check(self, store: Store, username: str, address: str) -> Refusal | None:
        """None when this attempt may have its password checked; else why not.

        A slowed attempt takes the user's one slot of the interval whatever its password.
        """
        p, now = self.policy, self._clock()
        pair, by_address, by_user = self._keys(username, address)
        known = auth.known_address(store, username, address, p.known_address_s)
        with store.transaction() as conn:
            if limits.recent(conn, pair, p.pair_window_s, now) >= p.pair_failures:
                return Refusal(gettext("Too many failed sign-ins for this user from this address; "
                                 "wait a few minutes."),
                               limits.wait(conn, pair, p.pair_failures, p.pair_window_s, now))
            if limits.recent(conn, by_address, p.address_window_s, now) >= p.address_failures:
                return Refusal(gettext("Too many failed sign-ins from this address; wait a few "
                                 "minutes."),
                               limits.wait(conn, by_address, p.address_failures,
                                           p.address_window_s, now))
            if (not known and limits.recent(conn, by_user, p.user_window_s, now) >= p.user_ceiling
                    and not limits.hit(conn, f"admin-login-slow:{username}", 1,
                                       p.slow_interval_s, now)):
                wait = limits.wait(conn, f"admin-login-slow:{username}", 1, p.slow_interval_s, now)
                return Refusal(gettext("Many failed sign-ins for this user from other addresses: "
                                 "from a new address one attempt is allowed every %(interval)d "
                                 "s. Try again in %(wait)d s.",
                                 interval=round(p.slow_interval_s), wait=max(1, round(wait))),
                               wait)
        return None

    def failed(self, store: Store, username: str, address: str) -> None:
        p, now = self.policy, self._clock()
        pair, by_address, by_user = self._keys(username, address)
        with store.transaction() as conn:
            limits.hit(conn, pair, p.pair_failures, p.pair_window_s, now)
            limits.hit(conn, by_address, p.address_failures, p.address_window_s, now)
            limits.hit(conn, by_user, _USER_COUNT_CAP, p.user_window_s, now)

    def succeeded(self, store: Store, username: str, address: str) -> None:
        """The right password: this pair's failures are forgiven (not the user's ceiling,
        which counts the guesses from elsewhere)."""
        with store.transaction() as conn:
            limits.clear(conn, self._keys(username, address)[0])


#: Longer than any page address of this app with its filters.
_MAX_NEXT = 2000


def _same_site_path(target: str) -> bool:
    # Browsers read "//host" and "/\\host" as another host, and drop tab, CR and LF before they
    # look ("/<tab>/evil" becomes "//evil"). No address of this app holds a backslash, a
    # control, an invisible format character or a line separator, so any of them refuses it.
    if not target.startswith("/") or target[1:2] in ("/", "\\") or "\\" in target:
        return False
    if any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp")
           for c in target):
        return False
    parts = urlsplit(target)
    # "//" inside a path is in no address of ours either; "/.//evil" normalises to "//evil".
    return not parts.scheme and not parts.netloc and "//" not in parts.path


def safe_next(target: object) -> str | None:
    """``target`` when it is a path on this site; None for anything a browser might take
    elsewhere (after sign-in, an open redirect would lend the login page to phishing).

    Checked as given and again percent-decoded (up to three times), so that an encoded
    ``%2F%2Fevil``, ``%5C`` or ``%09`` cannot turn into another host on some client's way.
    """
    if not isinstance(target, str) or not 0 < len(target) <= _MAX_NEXT:
        return None
    decoded = target
    for _ in range(4):
        if not _same_site_path(decoded):
            return None
        once = unquote(decoded)
        if once == decoded:
            return target
        decoded = once
    return None  # still changing after three decodings: nothing of ours is encoded so deep


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
