"""Versioned running configs per AP, and diffs between any two of them.

A version is stored only when its text is new for that AP (same SHA-256: the existing version's
``last_seen_at`` moves instead), so a nightly backup of an unchanged AP costs one row update and
history shows real changes only. Bodies are encrypted: configs carry WiFi passphrases.
"""

from __future__ import annotations

import difflib
import hashlib

from core.inventory import NotFound
from core.secrets import SecretBox
from core.store import Store, now, with_iso

SOURCES = ("backup", "pre-push", "post-push", "rollback", "adoption")
#: The times of a version row (unix seconds).
TIME_COLUMNS = ("taken_at", "last_seen_at")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(store: Store, box: SecretBox, ap_id: int, text: str, source: str,
           actor: str) -> tuple[dict, bool]:
    """Store ``text`` as the AP's config now; returns (version row without body, created)."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    sha = digest(text)
    seen_at = now()
    with store.transaction() as conn:
        row = conn.execute("SELECT id FROM config_versions WHERE ap_id = ? AND sha256 = ?",
                           (ap_id, sha)).fetchone()
        if row:
            conn.execute("UPDATE config_versions SET last_seen_at = ? WHERE id = ?",
                         (seen_at, row[0]))
            version_id, created = row[0], False
        else:
            number = conn.execute("SELECT coalesce(max(version), 0) + 1 FROM config_versions "
                                  "WHERE ap_id = ?", (ap_id,)).fetchone()[0]
            cur = conn.execute(
                "INSERT INTO config_versions (ap_id, version, sha256, body_enc, source, taken_at, "
                "taken_by, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ap_id, number, sha, _seal(box, text), source, seen_at, actor, seen_at))
            version_id, created = cur.lastrowid, True
    return _row(store, "id = ?", [version_id]), created


_COLUMNS = "id, ap_id, version, sha256, source, taken_at, taken_by, last_seen_at"


def _row(store: Store, where: str, args: list) -> dict:
    rows = list(store.db.query(f"SELECT {_COLUMNS} FROM config_versions WHERE {where}", args))
    if not rows:
        raise NotFound("config version", args[-1])
    return rows[0]


def shown(row: dict) -> dict:
    """A version row as the API, pages and CLI show it: its times as ISO-8601 text."""
    return with_iso(row, *TIME_COLUMNS)


def history(store: Store, ap_id: int) -> list[dict]:
    """Versions of one AP, newest first (bodies not included)."""
    return list(store.db.query(f"SELECT {_COLUMNS} FROM config_versions WHERE ap_id = ? "
                               "ORDER BY version DESC", [ap_id]))


def get(store: Store, ap_id: int, version: int) -> dict:
    return _row(store, "ap_id = ? AND version = ?", [ap_id, version])


def body(store: Store, box: SecretBox, ap_id: int, version: int | None = None) -> str:
    """The text of a version (the newest when ``version`` is None)."""
    if version is None:
        row = store.conn.execute("SELECT body_enc FROM config_versions WHERE ap_id = ? "
                                 "ORDER BY last_seen_at DESC, version DESC LIMIT 1",
                                 (ap_id,)).fetchone()
    else:
        row = store.conn.execute("SELECT body_enc FROM config_versions WHERE ap_id = ? AND "
                                 "version = ?", (ap_id, version)).fetchone()
    if not row:
        raise NotFound("config version", version if version is not None else "latest")
    return _open(box, row[0])


def body_by_id(store: Store, box: SecretBox, version_id: int) -> str:
    row = store.conn.execute("SELECT body_enc FROM config_versions WHERE id = ?",
                             (version_id,)).fetchone()
    if not row:
        raise NotFound("config version", version_id)
    return _open(box, row[0])


def _seal(box: SecretBox, text: str) -> str:
    """Encrypted body; an empty config (a device never configured) is stored as ''."""
    return box.encrypt(text) or ""


def _open(box: SecretBox, token: str) -> str:
    return box.decrypt(token) if token else ""


def _lines(text: str) -> list[str]:
    return [line + "\n" for line in text.split("\n")[:-1]] + (
        [text.rsplit("\n", 1)[-1]] if not text.endswith("\n") and text else [])


def unified_diff(old: str, new: str, old_label: str, new_label: str) -> str:
    """A unified diff (empty when equal), as ``diff -u`` prints it (lines end at LF only, as
    on the device: U+2028 inside a value is not a line break)."""
    lines = difflib.unified_diff(_lines(old), _lines(new), fromfile=old_label,
                                 tofile=new_label)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
