"""Request hardening for the portal: CSRF, cookie flags, security headers, rate limits.

The portal faces anyone in a park, so: every form carries a CSRF token (Flask-WTF); cookies are
HttpOnly, SameSite=Lax and Secure when served over HTTPS; the Content-Security-Policy allows
nothing but our own stylesheet and images (no script at all: the portal works without
JavaScript); pages are not framed and not cached. The rate limits on form posts are kept in
the store (`core.limits`), so they hold across the portal's workers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from core.files import create_private, ensure_private
from core.secrets import SecretBox
from core.shared_secrets import shared_secret
from core.store import Store

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'")
#: The one page with a script (the report form's "use my location"): our own file, nothing
#: inline, nothing from elsewhere.
CONTENT_SECURITY_POLICY_SCRIPT = CONTENT_SECURITY_POLICY + "; script-src 'self'"


def load_secret_key(path: str | os.PathLike) -> bytes:
    """The app's signing key from ``path``, created with mode 0600 on first use; a key file
    readable by others is narrowed to 0600 with a warning (`core.files`)."""
    path = Path(path)
    # False from create_private: another worker created it first, and theirs is used.
    if path.exists() or not create_private(path, secrets.token_hex(32).encode()):
        ensure_private(path)
    return path.read_text().strip().encode()


#: The portal's signing key (sessions, CSRF tokens; the pepper of one-time codes and visitor
#: hashes) in `core.shared_secrets`.
SIGNING_SECRET = "portal-signing"


def shared_secret_key(store: Store, secret_box: SecretBox,
                      legacy_path: str | os.PathLike | None = None) -> bytes:
    """The portal's signing key, the same on every portal node and worker (kept in the store).

    A visitor's landing page, code form and status page may each be answered by another node
    behind the load balancer: all must accept the same cookie, form token and code. The key
    file an older release kept (``portal.secret_key_file``) becomes the shared key on the first
    start after the upgrade, so visitors stay logged in; no new file is made.
    """
    def legacy() -> bytes | None:
        if legacy_path is None or not Path(legacy_path).exists():
            return None
        return load_secret_key(legacy_path) or None

    return shared_secret(store, secret_box, SIGNING_SECRET, legacy=legacy,
                         make=lambda: secrets.token_hex(32).encode())


def init_app(app: Flask, *, secure_cookies: bool) -> CSRFProtect:
    """CSRF on every POST, hardened cookies, and the security headers on every response."""
    app.config.update(
        SESSION_COOKIE_SECURE=secure_cookies, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_NAME="oasis_portal",
        WTF_CSRF_TIME_LIMIT=3600, WTF_CSRF_SSL_STRICT=secure_cookies)
    csrf = CSRFProtect(app)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cache-Control", "no-store")
        if secure_cookies:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return csrf


__all__ = ["CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_SCRIPT", "SIGNING_SECRET",
           "init_app", "load_secret_key", "shared_secret_key"]
