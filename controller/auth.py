"""Admin users, roles, sign-in sessions and API tokens.

Passwords are hashed with argon2id; API tokens are random, shown once, and stored as SHA-256,
with an expiry (or none, when asked for). A signed-in browser holds a session id whose SHA-256 is
a row of ``admin_sessions``: every request looks it up, so signing out ends the session in every
worker at once. Roles are ordered: a viewer reads, an operator also changes the inventory and
devices, an admin also manages users and tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets as _random
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core import audit
from core.errors import CodedError
from core.store import Store, iso, now

ROLES = ("viewer", "operator", "admin")
#: Languages of the admin UI (`users.locale`); a user with none follows the browser.
LOCALES = ("ar", "en")
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_HASHER = PasswordHasher()  # stateless; its parameters are argon2-cffi's RFC 9106 defaults


class AuthError(CodedError, ValueError):
    """A sign-in or account change was refused; ``field`` names the input at fault."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str
    #: The user's chosen language of the admin UI, or None (the browser's, then Arabic).
    locale: str | None = None

    def can(self, needed: str) -> bool:
        """Whether this user's role is at least ``needed``."""
        return ROLES.index(self.role) >= ROLES.index(needed)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 10:
        raise AuthError("weak_password", "the password must be at least 10 characters", "password")


def _check_locale(locale: str | None) -> str | None:
    locale = (locale or "").strip().lower() or None
    if locale is not None and locale not in LOCALES:
        raise AuthError("invalid_field", f"language must be one of {', '.join(LOCALES)}", "locale")
    return locale


def create_user(store: Store, username: str, password: str, role: str, actor: str,
                locale: str | None = None) -> User:
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise AuthError("invalid_field", "username: 2-32 lower-case letters, digits, '.', '_', '-'",
                        "username")
    if role not in ROLES:
        raise AuthError("invalid_field", f"role must be one of {', '.join(ROLES)}", "role")
    locale = _check_locale(locale)
    _check_password(password)
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
            raise AuthError("duplicate", f"user {username!r} exists", "username")
        cur = conn.execute("INSERT INTO users (username, password_hash, role, created_at, locale) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (username, _HASHER.hash(password), role, now(), locale))
        details: dict[str, str] = {"role": role}
        if locale:
            details["locale"] = locale
        audit.record(conn, actor, "user.create", "user", username, details)
    return User(cur.lastrowid, username, role, locale)


def set_locale(store: Store, username: str, locale: str | None, actor: str) -> None:
    """Set the language the admin UI uses for ``username`` (None: follow the browser)."""
    locale = _check_locale(locale)
    with store.transaction() as conn:
        if not conn.execute("UPDATE users SET locale = ? WHERE username = ?",
                            (locale, username)).rowcount:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        audit.record(conn, actor, "user.locale", "user", username, {"locale": locale})


def set_password(store: Store, username: str, password: str, actor: str,
                 keep_session: object = None) -> None:
    """Set the password and sign the user out everywhere else (but ``keep_session``, the
    session of someone changing their own password): whoever knew the old one is out too."""
    _check_password(password)
    with store.transaction() as conn:
        cur = conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                           (_HASHER.hash(password), username))
        if not cur.rowcount:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        ended = conn.execute(
            "DELETE FROM admin_sessions WHERE id_sha256 != ? AND user_id = "
            "(SELECT id FROM users WHERE username = ?)",
            (_digest(keep_session) if isinstance(keep_session, str) else "", username)).rowcount
        audit.record(conn, actor, "user.password", "user", username, {"sessions_ended": ended})


def set_role(store: Store, username: str, role: str, actor: str) -> None:
    if role not in ROLES:
        raise AuthError("invalid_field", f"role must be one of {', '.join(ROLES)}", "role")
    with store.transaction() as conn:
        if not conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username)).rowcount:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        audit.record(conn, actor, "user.role", "user", username, {"role": role})


def list_users(store: Store) -> list[User]:
    return [User(r["id"], r["username"], r["role"], r["locale"])
            for r in store.db.query("SELECT id, username, role, locale FROM users "
                                    "ORDER BY username")]


def get_user(store: Store, user_id: int) -> User | None:
    row = store.conn.execute("SELECT id, username, role, locale FROM users WHERE id = ?",
                             (user_id,)).fetchone()
    return User(*row) if row else None


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password matches; None otherwise (same answer for unknown users)."""
    row = store.conn.execute("SELECT id, username, role, password_hash, locale FROM users "
                             "WHERE username = ?", ((username or "").strip().lower(),)).fetchone()
    if row is None:
        _HASHER.hash("not-a-user")  # spend the same time as a real check
        return None
    try:
        _HASHER.verify(row[3], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _HASHER.check_needs_rehash(row[3]):
        store.conn.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                           (_HASHER.hash(password), row[0]))
    return User(row[0], row[1], row[2], row[4])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# ---- API tokens ---------------------------------------------------------------------------------

#: The longest lifetime a token may be given (ten years); ``None`` is "never expires".
MAX_TOKEN_LIFETIME_S = 10 * 365 * 86400
_LIFETIME = re.compile(r"^([1-9][0-9]{0,5})([hdw])$")
_LIFETIME_UNIT_S = {"h": 3600, "d": 86400, "w": 7 * 86400}


def parse_lifetime(text: str) -> float | None:
    """``"90d"``, ``"12h"``, ``"4w"`` as seconds; ``"never"`` as None; else an AuthError."""
    text = (text or "").strip().lower()
    if text == "never":
        return None
    match = _LIFETIME.match(text)
    seconds = int(match.group(1)) * _LIFETIME_UNIT_S[match.group(2)] if match else 0
    if not 0 < seconds <= MAX_TOKEN_LIFETIME_S:
        raise AuthError("invalid_field", "expires in: a number of hours, days or weeks (12h, "
                        "90d, 4w; at most ten years), or 'never'", "expires_in")
    return float(seconds)


@dataclass(frozen=True)
class Token:
    """A token as listed (never its secret): whose, what for, and until when."""
    id: int
    username: str
    name: str
    created_at: float
    expires_at: float | None
    last_used_at: float | None

    def expired(self, at: float) -> bool:
        return self.expires_at is not None and self.expires_at <= at


class TokenExpired(AuthError):
    """A real token past its expiry: refused, with a code that says so (not just "unknown")."""


def create_token(store: Store, username: str, name: str, actor: str,
                 lifetime_s: float | None = None) -> str:
    """A new API token for ``username``; the plaintext is returned once and never stored.

    ``lifetime_s`` None makes a token that never expires; callers pass the configured default
    (``admin.token_days``) unless someone asked for "never".
    """
    name = (name or "").strip()
    # A lone surrogate is what a command-line argument that was not UTF-8 becomes.
    if not name or len(name) > 64 or any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in name):
        raise AuthError("invalid_field", "token name: 1-64 characters", "name")
    if lifetime_s is not None and not 0 < lifetime_s <= MAX_TOKEN_LIFETIME_S:
        raise AuthError("invalid_field", "expires in: more than nothing, at most ten years",
                        "expires_in")
    token = "oasis_" + _random.token_urlsafe(32)
    created = now()
    expires_at = None if lifetime_s is None else created + lifetime_s
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
        if not row:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        cur = conn.execute("INSERT INTO api_tokens (user_id, name, token_sha256, created_at, "
                           "expires_at) VALUES (?, ?, ?, ?, ?)",
                           (row[0], name, _digest(token), created, expires_at))
        audit.record(conn, actor, "token.create", "user", username,
                     {"name": name, "id": cur.lastrowid,
                      "expires_at": None if expires_at is None else iso(expires_at)})
    return token


def user_for_token(store: Store, token: str) -> User | None:
    """The token's user; None for a token that is not one of ours (mistyped or revoked).

    A token past its expiry raises `TokenExpired`, so the caller can tell the client why.
    """
    if not token or not token.startswith("oasis_") or len(token) > 200:
        return None
    row = store.conn.execute(
        "SELECT u.id, u.username, u.role, t.id, t.expires_at, u.locale FROM api_tokens t "
        "JOIN users u ON u.id = t.user_id WHERE t.token_sha256 = ?", (_digest(token),)).fetchone()
    if not row:
        return None
    at = now()
    if row[4] is not None and row[4] <= at:
        raise TokenExpired("token_expired", f"the token expired at {iso(row[4])}; ask an admin "
                           "for a new one")
    store.conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (at, row[3]))
    return User(row[0], row[1], row[2], row[5])


def list_tokens(store: Store, username: str | None = None) -> list[Token]:
    """Every token (of ``username`` when given), newest first."""
    sql = ("SELECT t.id, u.username, t.name, t.created_at, t.expires_at, t.last_used_at "
           "FROM api_tokens t JOIN users u ON u.id = t.user_id")
    args: list = []
    if username is not None:
        sql += " WHERE u.username = ?"
        args.append(username)
    return [Token(*row) for row in store.conn.execute(sql + " ORDER BY t.id DESC", args)]


def revoke_token(store: Store, username: str, token_id: int, actor: str) -> None:
    """Revoke one token of ``username`` by its id (as `list_tokens` shows it)."""
    if not isinstance(token_id, int) or not 0 < token_id < 2 ** 63:
        raise AuthError("not_found", f"{username!r} has no token {token_id!r}", "token")
    with store.transaction() as conn:
        row = conn.execute("SELECT t.name FROM api_tokens t JOIN users u ON u.id = t.user_id "
                           "WHERE t.id = ? AND u.username = ?", (token_id, username)).fetchone()
        if row is None:
            raise AuthError("not_found", f"{username!r} has no token {token_id}", "token")
        conn.execute("DELETE FROM api_tokens WHERE id = ?", (token_id,))
        audit.record(conn, actor, "token.revoke", "user", username,
                     {"id": token_id, "name": row[0], "count": 1})


def revoke_tokens(store: Store, username: str, actor: str) -> int:
    with store.transaction() as conn:
        n = conn.execute("DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE "
                         "username = ?)", (username,)).rowcount
        audit.record(conn, actor, "token.revoke", "user", username, {"count": n})
    return n


# ---- sign-in sessions ----------------------------------------------------------------------------

def start_session(store: Store, user: User, lifetime_s: float, address: str | None) -> str:
    """A new session for ``user`` (after a good password): its id, for the signed cookie.

    Only the id's SHA-256 is stored, so a copy of the store does not sign anyone in. The
    user's expired sessions are deleted on the way.
    """
    session_id = _random.token_urlsafe(32)
    at = now()
    with store.transaction() as conn:
        conn.execute("DELETE FROM admin_sessions WHERE expires_at <= ?", (at,))
        conn.execute("INSERT INTO admin_sessions (id_sha256, user_id, created_at, expires_at, "
                     "address) VALUES (?, ?, ?, ?, ?)",
                     (_digest(session_id), user.id, at, at + lifetime_s, address))
        conn.execute("INSERT INTO admin_login_addresses (user_id, address, last_login_at) "
                     "VALUES (?, ?, ?) ON CONFLICT (user_id, address) DO UPDATE SET "
                     "last_login_at = excluded.last_login_at", (user.id, address or "", at))
    return session_id


def session_user(store: Store, session_id: object) -> User | None:
    """The user of a live session; None when it ended (signed out) or expired, or is no id."""
    if not isinstance(session_id, str) or not 0 < len(session_id) <= 100:
        return None
    row = store.conn.execute(
        "SELECT u.id, u.username, u.role, u.locale FROM admin_sessions s "
        "JOIN users u ON u.id = s.user_id "
        "WHERE s.id_sha256 = ? AND s.expires_at > ?", (_digest(session_id), now())).fetchone()
    return User(*row) if row else None


def end_session(store: Store, session_id: object) -> None:
    """Sign a session out: every worker refuses its cookie from the next request on."""
    if isinstance(session_id, str):
        with store.transaction() as conn:
            conn.execute("DELETE FROM admin_sessions WHERE id_sha256 = ?", (_digest(session_id),))


def end_sessions(store: Store, username: str, actor: str, keep: object = None) -> int:
    """Sign ``username`` out everywhere (but the session ``keep``); how many sessions ended."""
    kept = _digest(keep) if isinstance(keep, str) else ""
    with store.transaction() as conn:
        n = conn.execute("DELETE FROM admin_sessions WHERE id_sha256 != ? AND user_id = "
                         "(SELECT id FROM users WHERE username = ?)", (kept, username)).rowcount
        if n:
            audit.record(conn, actor, "user.sessions_end", "user", username, {"count": n})
    return n


def known_address(store: Store, username: str, address: str, within_s: float) -> bool:
    """Whether ``username`` signed in successfully from ``address`` in the last ``within_s``."""
    return store.conn.execute(
        "SELECT 1 FROM admin_login_addresses a JOIN users u ON u.id = a.user_id "
        "WHERE u.username = ? AND a.address = ? AND a.last_login_at > ?",
        (username, address, now() - within_s)).fetchone() is not None
