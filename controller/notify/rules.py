"""Per-severity routing (which channels an alert of each severity goes to) and the webhook
receivers. Defaults (migration 0146): critical by SMS, e-mail and webhook; warning by e-mail and
webhook; info only in the digest."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from urllib.parse import urlsplit

from core import audit
from core.errors import CodedError
from core.secrets import SecretBox
from core.store import Store, now

SEVERITIES = ("critical", "warning", "info")
CHANNELS = ("email", "sms", "webhook")


class RuleError(CodedError):
    """A rule or webhook that cannot be kept as given; ``field`` names the input."""


@dataclass(frozen=True)
class Rule:
    severity: str
    email: bool
    sms: bool
    webhook: bool
    on_clear: bool

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c in CHANNELS if getattr(self, c))


def rules(conn: sqlite3.Connection) -> dict[str, Rule]:
    """The rule of each severity (a severity without a row goes to the digest only)."""
    found = {row[0]: Rule(row[0], *map(bool, row[1:])) for row in conn.execute(
        "SELECT severity, email, sms, webhook, on_clear FROM notify_rules")}
    return {s: found.get(s, Rule(s, False, False, False, False)) for s in SEVERITIES}


def set_rule(store: Store, rule: Rule, *, actor: str) -> None:
    if rule.severity not in SEVERITIES:
        raise RuleError("notify.severity", f"severity: one of {', '.join(SEVERITIES)}",
                        "severity")
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO notify_rules (severity, email, sms, webhook, on_clear) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(severity) DO UPDATE SET email = excluded.email,"
            " sms = excluded.sms, webhook = excluded.webhook, on_clear = excluded.on_clear",
            (rule.severity, int(rule.email), int(rule.sms), int(rule.webhook),
             int(rule.on_clear)))
        audit.record(conn, actor, "notify.rule", "notify_rule", rule.severity,
                     {"channels": list(rule.channels), "on_clear": rule.on_clear})


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    active: bool


def add_webhook(store: Store, box: SecretBox, *, actor: str, name: str, url: str,
                secret: str = "") -> tuple[int, str]:
    """Add a receiver; returns its id and the signing secret (generated when none is given,
    shown once: the store keeps it encrypted)."""
    name, url = name.strip(), url.strip()
    if not name:
        raise RuleError("notify.webhook_name", "a name is needed", "name")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuleError("notify.webhook_url", "the address must be an http(s) URL", "url")
    secret = secret.strip() or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise RuleError("notify.webhook_secret", "the secret needs at least 16 characters",
                        "secret")
    with store.transaction() as conn:
        try:
            cursor = conn.execute(
                "INSERT INTO notify_webhooks (name, url, secret, active, created_at) "
                "VALUES (?, ?, ?, 1, ?)", (name, url, box.encrypt(secret), now()))
        except sqlite3.IntegrityError:
            raise RuleError("notify.webhook_duplicate", f"a webhook named {name} exists",
                            "name") from None
        webhook_id = int(cursor.lastrowid or 0)
        audit.record(conn, actor, "notify.webhook_add", "webhook", webhook_id,
                     {"name": name, "url": url})
    return webhook_id, secret


def remove_webhook(store: Store, webhook_id: int, *, actor: str) -> bool:
    with store.transaction() as conn:
        gone = conn.execute("DELETE FROM notify_webhooks WHERE id = ?",
                            (webhook_id,)).rowcount > 0
        if gone:
            audit.record(conn, actor, "notify.webhook_remove", "webhook", webhook_id)
    return gone


def webhooks(conn: sqlite3.Connection) -> list[Webhook]:
    return [Webhook(r[0], r[1], r[2], bool(r[3])) for r in conn.execute(
        "SELECT id, name, url, active FROM notify_webhooks ORDER BY name")]


def webhook_target(conn: sqlite3.Connection, box: SecretBox,
                   webhook_id: int) -> tuple[str, str] | None:
    """A receiver's URL and signing secret, or None when it was removed."""
    row = conn.execute("SELECT url, secret FROM notify_webhooks WHERE id = ?",
                       (webhook_id,)).fetchone()
    return (row[0], box.decrypt(row[1])) if row else None


__all__ = ["CHANNELS", "SEVERITIES", "Rule", "RuleError", "Webhook", "add_webhook",
           "remove_webhook", "rules", "set_rule", "webhook_target", "webhooks"]
