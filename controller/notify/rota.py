"""The on-call rota: people with their contact points and language, and weekly shifts in the
municipality's local time (``[municipality] timezone``).

A shift runs from ``starts`` to ``ends`` (local ``HH:MM``) on one ISO weekday (1 Monday .. 7
Sunday) or every day; one whose end is not after its start runs past midnight into the next day.
When no shift covers a moment, every active person is on call: an alert nobody was rostered for
still reaches someone.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from core import audit, localtime
from core.errors import CodedError
from core.store import Store, now

LOCALES = ("ar", "en")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class RotaError(CodedError):
    """A person or shift that cannot be kept as given; ``field`` names the input."""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str
    phone: str
    locale: str
    digest: bool
    active: bool


@dataclass(frozen=True)
class Shift:
    id: int
    person_id: int
    weekday: int | None
    starts: str
    ends: str

    def covers(self, weekday: int, minute: int) -> bool:
        """True if this shift covers local ``minute`` (of the day) on ISO ``weekday``."""
        start, end = _minutes(self.starts), _minutes(self.ends)
        today = self.weekday is None or self.weekday == weekday
        if start < end:
            return today and start <= minute < end
        yesterday = self.weekday is None or self.weekday == (weekday - 2) % 7 + 1
        return (today and minute >= start) or (yesterday and minute < end)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def add_person(store: Store, *, actor: str, name: str, email: str = "", phone: str = "",
               locale: str = "ar", digest: bool = True) -> int:
    """Add someone to the rota; audited. Returns their id."""
    name, email, phone = name.strip(), email.strip(), phone.strip().replace(" ", "")
    if not name:
        raise RotaError("rota.name", "a name is needed", "name")
    if email and not _EMAIL.match(email):
        raise RotaError("rota.email", f"not an e-mail address: {email}", "email")
    if phone and not _E164.match(phone):
        raise RotaError("rota.phone", "a phone number is written +<country><number>", "phone")
    if not email and not phone:
        raise RotaError("rota.contact", "an e-mail address or a phone number is needed", "email")
    if locale not in LOCALES:
        raise RotaError("rota.locale", f"language: one of {', '.join(LOCALES)}", "locale")
    with store.transaction() as conn:
        try:
            cursor = conn.execute(
                "INSERT INTO oncall_people (name, email, phone, locale, digest, active, created_at)"
                " VALUES (?, ?, ?, ?, ?, 1, ?)", (name, email, phone, locale, int(digest), now()))
        except sqlite3.IntegrityError:
            raise RotaError("rota.duplicate", f"{name} is already on the rota", "name") from None
        person_id = int(cursor.lastrowid or 0)
        audit.record(conn, actor, "oncall.person_add", "oncall_person", person_id,
                     {"name": name, "email": email, "phone": phone, "locale": locale,
                      "digest": digest})
    return person_id


def remove_person(store: Store, person_id: int, *, actor: str) -> bool:
    with store.transaction() as conn:
        row = conn.execute("SELECT name FROM oncall_people WHERE id = ?", (person_id,)).fetchone()
        if row is None:
            return False
        conn.execute("DELETE FROM oncall_people WHERE id = ?", (person_id,))
        audit.record(conn, actor, "oncall.person_remove", "oncall_person", person_id,
                     {"name": row[0]})
    return True


def add_shift(store: Store, *, actor: str, person_id: int, starts: str, ends: str,
              weekday: int | None = None) -> int:
    """Put a person on call from ``starts`` to ``ends`` (local HH:MM), on ``weekday`` (ISO) or
    every day; audited."""
    for key, value in (("starts", starts), ("ends", ends)):
        if not _HHMM.match(value):
            raise RotaError("rota.time", f"{key}: a local time is written HH:MM", key)
    if starts == ends:
        raise RotaError("rota.empty_shift", "a shift must not start and end at the same time",
                        "ends")
    if weekday is not None and not 1 <= weekday <= 7:
        raise RotaError("rota.weekday", "weekday: 1 (Monday) to 7 (Sunday)", "weekday")
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM oncall_people WHERE id = ?",
                        (person_id,)).fetchone() is None:
            raise RotaError("rota.no_person", f"no person {person_id} on the rota", "person_id")
        cursor = conn.execute("INSERT INTO oncall_shifts (person_id, weekday, starts, ends) "
                              "VALUES (?, ?, ?, ?)", (person_id, weekday, starts, ends))
        shift_id = int(cursor.lastrowid or 0)
        audit.record(conn, actor, "oncall.shift_add", "oncall_shift", shift_id,
                     {"person_id": person_id, "weekday": weekday, "starts": starts,
                      "ends": ends})
    return shift_id


def remove_shift(store: Store, shift_id: int, *, actor: str) -> bool:
    with store.transaction() as conn:
        gone = conn.execute("DELETE FROM oncall_shifts WHERE id = ?", (shift_id,)).rowcount > 0
        if gone:
            audit.record(conn, actor, "oncall.shift_remove", "oncall_shift", shift_id)
    return gone


def people(conn: sqlite3.Connection) -> list[Person]:
    return [Person(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6])) for r in conn.execute(
        "SELECT id, name, email, phone, locale, digest, active FROM oncall_people ORDER BY name")]


def shifts(conn: sqlite3.Connection) -> list[Shift]:
    return [Shift(*row) for row in conn.execute(
        "SELECT id, person_id, weekday, starts, ends FROM oncall_shifts "
        "ORDER BY coalesce(weekday, 0), starts, id")]


def on_call(conn: sqlite3.Connection, at: float, tz: str) -> list[Person]:
    """Who is on call at ``at``: the active people a shift covers, or every active person when
    no shift covers that moment."""
    moment = localtime.local(at, tz)
    weekday, minute = moment.isoweekday(), moment.hour * 60 + moment.minute
    everyone = [p for p in people(conn) if p.active]
    rostered = {s.person_id for s in shifts(conn) if s.covers(weekday, minute)}
    chosen = [p for p in everyone if p.id in rostered]
    return chosen or everyone


__all__ = ["LOCALES", "Person", "RotaError", "Shift", "add_person", "add_shift", "on_call",
           "people", "remove_person", "remove_shift", "shifts"]
