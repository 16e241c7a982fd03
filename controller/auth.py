"""Admin users, roles and API tokens.

Passwords are hashed with argon2id; API tokens are random, shown once, and stored as SHA-256.
Roles are ordered: a viewer reads, an operator also changes the inventory and devices, an admin
also manages users and tokens.
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
from core.store import Store, now

ROLES = ("viewer", "operator", "admin")
_USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_HASHER = PasswordHasher()  # stateless; its parameters are argon2-cffi's RFC 9106 defaults


class AuthError(CodedError, ValueError):
    """A sign-in or account change was refused; ``field`` names the input at fault."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str

    def can(self, needed: str) -> bool:
        """Whether this user's role is at least ``needed``."""
        return ROLES.index(self.role) >= ROLES.index(needed)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 10:
        raise AuthError("weak_password", "the password must be at least 10 characters", "password")


def create_user(store: Store, username: str, password: str, role: str, actor: str) -> User:
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise AuthError("invalid_field", "username: 2-32 lower-case letters, digits, '.', '_', '-'",
                        "username")
    if role not in ROLES:
        raise AuthError("invalid_field", f"role must be one of {', '.join(ROLES)}", "role")
    _check_password(password)
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM users WHERE username = ?", (username,)).fetchone():
            raise AuthError("duplicate", f"user {username!r} exists", "username")
        cur = conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                           "VALUES (?, ?, ?, ?)", (username, _HASHER.hash(password), role, now()))
        audit.record(conn, actor, "user.create", "user", username, {"role": role})
    return User(cur.lastrowid, username, role)


def set_password(store: Store, username: str, password: str, actor: str) -> None:
    _check_password(password)
    with store.transaction() as conn:
        cur = conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                           (_HASHER.hash(password), username))
        if not cur.rowcount:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        audit.record(conn, actor, "user.password", "user", username, None)


def set_role(store: Store, username: str, role: str, actor: str) -> None:
    if role not in ROLES:
        raise AuthError("invalid_field", f"role must be one of {', '.join(ROLES)}", "role")
    with store.transaction() as conn:
        if not conn.execute("UPDATE users SET role = ? WHERE username = ?", (role, username)).rowcount:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        audit.record(conn, actor, "user.role", "user", username, {"role": role})


def list_users(store: Store) -> list[User]:
    return [User(r["id"], r["username"], r["role"])
            for r in store.db.query("SELECT id, username, role FROM users ORDER BY username")]


def get_user(store: Store, user_id: int) -> User | None:
    row = store.conn.execute("SELECT id, username, role FROM users WHERE id = ?", (user_id,)).fetchone()
    return User(*row) if row else None


def authenticate(store: Store, username: str, password: str) -> User | None:
    """The user if the password matches; None otherwise (same answer for unknown users)."""
    row = store.conn.execute("SELECT id, username, role, password_hash FROM users WHERE username = ?",
                             ((username or "").strip().lower(),)).fetchone()
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
    return User(row[0], row[1], row[2])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, username: str, name: str, actor: str) -> str:
    """A new API token for ``username``; the plaintext is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise AuthError("invalid_field", "token name: 1-64 characters", "name")
    token = "oasis_" + _random.token_urlsafe(32)
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM users WHERE username = ?", (username,)).fetchone()
        if not row:
            raise AuthError("not_found", f"user {username!r} does not exist", "username")
        conn.execute("INSERT INTO api_tokens (user_id, name, token_sha256, created_at) "
                     "VALUES (?, ?, ?, ?)", (row[0], name, _digest(token), now()))
        audit.record(conn, actor, "token.create", "user", username, {"name": name})
    return token


def user_for_token(store: Store, token: str) -> User | None:
    if not token or not token.startswith("oasis_"):
        return None
    row = store.conn.execute(
        "SELECT u.id, u.username, u.role, t.id FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_sha256 = ?", (_digest(token),)).fetchone()
    if not row:
        return None
    store.conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now(), row[3]))
    return User(row[0], row[1], row[2])


def revoke_tokens(store: Store, username: str, actor: str) -> int:
    with store.transaction() as conn:
        n = conn.execute("DELETE FROM api_tokens WHERE user_id = (SELECT id FROM users WHERE "
                         "username = ?)", (username,)).rowcount
        audit.record(conn, actor, "token.revoke", "user", username, {"count": n})
    return n
