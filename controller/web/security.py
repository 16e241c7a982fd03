"""Session secret, login rate limiting and the security headers of every response."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from flask import Flask, Response

from core.config import Config

#: No inline script or style anywhere: charts are inline SVG with presentation attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

_SESSION_KEY_LABEL = b"oasis-edge admin session key v1"


def session_secret(config: Config) -> bytes:
    """Flask's signing key, derived from the store's Fernet key file.

    Deriving it (HMAC of a fixed label keyed with the key file's bytes) means sessions survive a
    restart and rotate with the key file, without a second secret for the operator to guard. When
    no key file exists yet, a separate random key is kept beside where it would be, mode 0600.
    """
    key_file = config.resolve_path(config.store.key_file)
    if key_file.exists():
        return hmac.new(key_file.read_bytes().strip(), _SESSION_KEY_LABEL, hashlib.sha256).digest()
    return _own_session_key(key_file.with_name(key_file.name + ".session"))


def _own_session_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


class LoginLimiter:
    """Counts failed logins per client IP and per username in a sliding window.

    Keyed both ways so that one address cannot try many usernames and many addresses cannot
    hammer one username. Owned by the app (one per process); a successful login clears the
    username's count but not the address's.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic):
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        stamps = self._failures.get(key)
        if stamps is None:
            return deque()
        while stamps and now - stamps[0] > self.window_s:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return stamps

    def blocked(self, ip: str, username: str) -> bool:
        now = self._clock()
        with self._lock:
            return any(len(self._recent(key, now)) >= self.max_failures
                       for key in (f"ip:{ip}", f"user:{username.strip().lower()}"))

    def failed(self, ip: str, username: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (f"ip:{ip}", f"user:{username.strip().lower()}"):
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{username.strip().lower()}", None)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
