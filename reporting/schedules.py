"""Reports built on a schedule, mailed to their recipients and kept for download.

A schedule is monthly (the month before, on the 1st) or weekly (the ISO week before, on its
``weekday``), at ``hour`` local time. `run_due` records a run for (schedule, period) in the
store *before* building or sending: the unique key on that pair means one process builds and
mails each period once, even with several controllers or a restart halfway. A run whose mail
was handed to the relay stays ``sending`` if the process dies before it is marked ``sent``:
it is not sent again (at most once; the files are kept either way).

On several nodes (docs/scale-out.md) both are used: a lease for the tick and a claim per run.
Each node's `Scheduler` asks for the lease ``singleton:report-schedules`` (`core.leases`,
`core.leases.WORKER_TTL_S`, 12 s) and only the holder rolls usage up and calls `run_due`, so
the store is not swept twice a minute for nothing. The unique (schedule, period) key stays the
claim that makes a period's report single, and a run being built is held by the lease
``report-run:<id>`` (`core.leases.Hold`, renewed while the PDF is made). A run left
``building`` by a node that died has no live holder: the next tick (on whichever node holds
the schedules' lease then) builds it again, its half-written files removed first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import audit
from core.config import Config, MunicipalityConfig
from core.files import create_private
from core.leases import WORKER_TTL_S, Hold, Singleton, acquire, holder_id, release
from core.localtime import day_start, local
from core.mail import MailConfig, MailError, compose, send
from core.store import Store, now
from reporting import areas as registry
from reporting import export, pdf, usage_rollup
from reporting.i18n import LOCALES, N_, direction, translator
from reporting.model import Filters, Period, Section
from reporting.settings import ReportingConfig

log = logging.getLogger(__name__)

FORMATS = ("pdf", "xlsx")
MIME = {"pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
#: A relay that keeps refusing for a while (retryable errors) is tried this many times.
MAX_ATTEMPTS = 5
_ADDRESS = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")

#: A run's status as the Delivered reports page names it.
RUN_STATES = {"building": N_("being built"), "built": N_("built, not mailed"),
              "sending": N_("handed to the relay"), "sent": N_("sent"),
              "retry": N_("to be retried"), "failed": N_("failed")}

SUBJECT = N_("%(municipality)s: KPI report %(period)s")
BODY = N_("The KPI report for %(period)s (%(dates)s) is attached.\n\n"
          "It can also be downloaded from the admin pages, under Reports.")


class ScheduleError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Schedule:
    id: int
    name: str
    every: str
    lang: str
    formats: tuple[str, ...]
    recipients: tuple[str, ...]
    site: str | None
    weekday: int
    hour: int
    active: bool
    created_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Schedule:
        return cls(row["id"], row["name"], row["every"], row["lang"],
                   tuple(f for f in row["formats"].split(",") if f),
                   tuple(r for r in row["recipients"].split(",") if r), row["site"],
                   row["weekday"], row["hour"], bool(row["active"]), row["created_at"])


def _validated(name: str, every: str, lang: str, formats: list[str], recipients: list[str],
               weekday: int, hour: int) -> None:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name or ""):
        raise ScheduleError("name", "letters, digits, '.', '_' or '-', at most 64")
    if every not in ("month", "week"):
        raise ScheduleError("every", "month or week")
    if lang not in LOCALES:
        raise ScheduleError("lang", f"one of {', '.join(LOCALES)}")
    if not formats or any(f not in FORMATS for f in formats):
        raise ScheduleError("formats", f"one or more of {', '.join(FORMATS)}")
    for address in recipients:
        if not _ADDRESS.match(address):
            raise ScheduleError("recipients", f"{address!r} is not an e-mail address")
    if not 1 <= weekday <= 7:
        raise ScheduleError("weekday", "an ISO weekday, 1 (Monday) to 7 (Sunday)")
    if not 0 <= hour <= 23:
        raise ScheduleError("hour", "0 to 23 (local time)")


def add_schedule(store: Store, *, name: str, every: str, lang: str = "ar",
                 formats: list[str] | None = None, recipients: list[str] | None = None,
                 site: str | None = None, weekday: int = 7, hour: int = 6, actor: str,
                 created_at: float | None = None) -> Schedule:
    formats = formats or ["pdf"]
    recipients = [r.strip() for r in recipients or [] if r.strip()]
    _validated(name, every, lang, formats, recipients, weekday, hour)
    with store.transaction() as conn:
        try:
            cursor = conn.execute(
                "INSERT INTO report_schedules (name, every, lang, formats, recipients, site, "
                "weekday, hour, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (name, every, lang, ",".join(formats), ",".join(recipients), site or None,
                 weekday, hour, created_at if created_at is not None else now()))
        except sqlite3.IntegrityError:
            raise ScheduleError("name", f"a schedule named {name!r} exists") from None
        audit.record(conn, actor, "report_schedule.add", "report_schedule", cursor.lastrowid,
                     {"name": name, "every": every, "lang": lang, "formats": formats,
                      "recipients": recipients, "site": site})
    return get_schedule(store, name)


def get_schedule(store: Store, name: str) -> Schedule:
    rows = list(store.db.query("SELECT * FROM report_schedules WHERE name = ?", [name]))
    if not rows:
        raise ScheduleError("name", f"no schedule named {name!r}")
    return Schedule.from_row(rows[0])


def list_schedules(store: Store) -> list[Schedule]:
    return [Schedule.from_row(r)
            for r in store.db.query("SELECT * FROM report_schedules ORDER BY name")]


def remove_schedule(store: Store, name: str, *, actor: str) -> None:
    schedule = get_schedule(store, name)
    with store.transaction() as conn:
        conn.execute("DELETE FROM report_schedules WHERE id = ?", (schedule.id,))
        audit.record(conn, actor, "report_schedule.remove", "report_schedule", schedule.id,
                     {"name": name})


def set_active(store: Store, name: str, active: bool, *, actor: str) -> None:
    schedule = get_schedule(store, name)
    with store.transaction() as conn:
        conn.execute("UPDATE report_schedules SET active = ? WHERE id = ?",
                     (int(active), schedule.id))
        audit.record(conn, actor, "report_schedule.resume" if active else
                     "report_schedule.pause", "report_schedule", schedule.id, {"name": name})


# ---- when ------------------------------------------------------------------------------------

def _period(every: str, first: dt.date, tz: str) -> Period:
    if every == "month":
        name = f"month:{first:%Y-%m}"
    else:
        year, week, _day = first.isocalendar()
        name = f"week:{year}-W{week:02d}"
    return Period.parse(name, tz, now=0.0)


def due_at(schedule: Schedule, period: Period) -> float:
    """When the report of ``period`` is due: the first ``hour`` after the period, on the 1st
    (monthly) or on the first ``weekday`` from the day after the week (weekly)."""
    after = local(period.end, period.tz).date()
    if schedule.every == "week":
        after += dt.timedelta(days=(schedule.weekday - after.isoweekday()) % 7)
    return day_start(after, period.tz) + schedule.hour * 3600.0


def due_period(schedule: Schedule, at: float, tz: str) -> Period | None:
    """The latest complete period of ``schedule`` that is due at ``at`` and was not yet due
    when the schedule was made (a new schedule does not mail the past)."""
    today = local(at, tz).date()
    if schedule.every == "month":
        first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        candidates = [first, (first - dt.timedelta(days=1)).replace(day=1)]
    else:
        monday = today - dt.timedelta(days=today.isoweekday() - 1)
        candidates = [monday - dt.timedelta(days=7), monday - dt.timedelta(days=14)]
    for first in candidates:
        period = _period(schedule.every, first, tz)
        if due_at(schedule, period) <= at:
            return period if due_at(schedule, period) >= schedule.created_at else None
    return None


# ---- building and sending ---------------------------------------------------------------------

def reports_folder(config: Config) -> Path:
    return config.resolve_path(config.section(ReportingConfig).reports_folder)


def build_files(sections: list[Section], config: Config, lang: str,
                formats: tuple[str, ...]) -> dict[str, bytes]:
    """The report of ``sections`` in each format."""
    _ = translator(lang)
    files: dict[str, bytes] = {}
    for kind in formats:
        if kind == "pdf":
            files[kind] = pdf.render(sections, config, lang)
        else:
            files[kind] = export.workbook(sections, _, rtl=direction(lang) == "rtl")
    return files


def file_stem(period: Period, lang: str, site: str | None = None) -> str:
    where = f"-{site}" if site else ""
    return f"kpi-{period.name.replace(':', '-')}{where}-{lang}"


def _claim(store: Store, schedule: Schedule, period: Period, at: float) -> int | None:
    try:
        with store.transaction() as conn:
            return conn.execute(
                "INSERT INTO report_runs (schedule_id, period, status, started_at) "
                "VALUES (?, ?, 'building', ?) RETURNING id",
                (schedule.id, period.name, at)).fetchone()[0]
    except sqlite3.IntegrityError:
        return None  # built already, or being built by another process


def _run_lease(run_id: int) -> str:
    return f"report-run:{run_id}"


def _orphans(store: Store, holder: str, at: float, ttl_s: float) -> list[tuple[int, int, str]]:
    """Runs left ``building`` by a process that is gone: older than a lease's TTL (so not one
    another process has just inserted and is about to hold) and with no live holder."""
    rows = store.conn.execute(
        "SELECT id, schedule_id, period FROM report_runs WHERE status = 'building' "
        "AND started_at < ? ORDER BY id", (at - ttl_s,)).fetchall()
    orphans = []
    for run_id, schedule_id, period in rows:
        if acquire(store, _run_lease(run_id), holder, ttl_s):
            release(store, _run_lease(run_id), holder)
            orphans.append((run_id, schedule_id, period))
    return orphans


def _held_build(store: Store, config: Config, schedule: Schedule, period: Period, run_id: int,
                holder: str, ttl_s: float) -> bool:
    """Build run ``run_id`` holding its lease; False when another process holds it."""
    def stores() -> Store:  # the renewing thread's own connection
        return Store(store.location, migrate=False)

    with Hold(stores, _run_lease(run_id), holder, ttl_s=ttl_s) as hold:
        if not hold.ok:
            return False
        try:
            _build(store, config, schedule, period, run_id)
        except Exception as exc:
            log.exception("report %s for %s could not be built", schedule.name, period.name)
            _finish(store, run_id, "failed", error=f"build: {exc.__class__.__name__}: {exc}")
    return True


def _forget_files(store: Store, run_id: int) -> None:
    """The files a dead builder may have left of run ``run_id``, rows and bytes."""
    for (path,) in store.conn.execute("SELECT path FROM report_files WHERE run_id = ?",
                                      (run_id,)).fetchall():
        Path(path).unlink(missing_ok=True)
    store.conn.execute("DELETE FROM report_files WHERE run_id = ?", (run_id,))


def run_due(store: Store, config: Config, *, at: float | None = None,
            mailer: Callable[..., str] = send, holder: str | None = None,
            ttl_s: float = WORKER_TTL_S) -> list[int]:
    """Build and deliver every report that is due; build again runs a dead process left
    half-built; retry deliveries the relay put off. Returns the ids of the runs it worked on."""
    at = now() if at is None else at
    holder = holder or holder_id("report-runs")
    tz = config.section(MunicipalityConfig).timezone
    worked: list[int] = []
    schedules = {schedule.id: schedule for schedule in list_schedules(store)}
    for orphan, schedule_id, name in _orphans(store, holder, at, ttl_s):
        schedule = schedules.get(schedule_id)
        if schedule is None:
            continue
        log.warning("report run %s (%s, %s) was left half-built by a process that is gone; "
                    "building it again", orphan, schedule.name, name)
        folder = reports_folder(config)
        for stale in folder.glob(f"{schedule.id}-{orphan}-*") if folder.is_dir() else ():
            stale.unlink(missing_ok=True)
        _forget_files(store, orphan)
        if _held_build(store, config, schedule, Period.parse(name, tz, now=0.0), orphan,
                       holder, ttl_s):
            worked.append(orphan)
    for schedule in schedules.values():
        if not schedule.active:
            continue
        period = due_period(schedule, at, tz)
        if period is None:
            continue
        run_id = _claim(store, schedule, period, at)
        if run_id is None:
            continue
        worked.append(run_id)
        _held_build(store, config, schedule, period, run_id, holder, ttl_s)
    for run_id in _deliverable(store):
        if _deliver(store, config, run_id, mailer):
            worked.append(run_id) if run_id not in worked else None
    return worked


def _build(store: Store, config: Config, schedule: Schedule, period: Period,
           run_id: int) -> None:
    sections = registry.build_all(store, config, period, Filters(site=schedule.site))
    files = build_files(sections, config, schedule.lang, schedule.formats)
    folder = reports_folder(config)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = file_stem(period, schedule.lang, schedule.site)
    rows = []
    for kind, data in files.items():
        path = folder / f"{schedule.id}-{run_id}-{stem}.{kind}"
        if not create_private(path, data):
            raise FileExistsError(path)
        rows.append((run_id, kind, f"{stem}.{kind}", str(path), len(data),
                     hashlib.sha256(data).hexdigest(), now()))
    with store.transaction() as conn:
        conn.executemany("INSERT INTO report_files (run_id, format, filename, path, size, "
                         "sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("UPDATE report_runs SET status = 'built', built_at = ? WHERE id = ?",
                     (now(), run_id))


def _finish(store: Store, run_id: int, status: str, **values: object) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    with store.transaction() as conn:
        conn.execute(f"UPDATE report_runs SET status = ?{', ' + sets if sets else ''} "
                     "WHERE id = ?", (status, *values.values(), run_id))


def _deliverable(store: Store) -> list[int]:
    return [row[0] for row in store.conn.execute(
        "SELECT id FROM report_runs WHERE status IN ('built', 'retry') ORDER BY id")]


def _deliver(store: Store, config: Config, run_id: int, mailer: Callable[..., str]) -> bool:
    """Mail the run's files to its schedule's recipients; True if this call sent it."""
    with store.transaction() as conn:  # claim: only one process mails a run
        claimed = conn.execute(
            "UPDATE report_runs SET status = 'sending', attempts = attempts + 1 "
            "WHERE id = ? AND status IN ('built', 'retry')", (run_id,)).rowcount
    if not claimed:
        return False
    run = next(store.db.query(
        "SELECT r.*, s.name, s.lang, s.recipients FROM report_runs r "
        "JOIN report_schedules s ON s.id = r.schedule_id WHERE r.id = ?", [run_id]))
    recipients = [r for r in run["recipients"].split(",") if r]
    if not recipients:
        _finish(store, run_id, "built")  # kept for download only
        return False
    files = list(store.db.query("SELECT * FROM report_files WHERE run_id = ? ORDER BY id",
                                [run_id]))
    message = _message(config, run, recipients, files)
    try:
        message_id = mailer(config.section(MailConfig), message, base=config.resolve_path("."))
    except MailError as exc:
        give_up = not exc.retryable or run["attempts"] >= MAX_ATTEMPTS
        log.warning("report %s for %s not delivered (%s)", run["name"], run["period"], exc)
        _finish(store, run_id, "failed" if give_up else "retry", error=str(exc))
        return False
    _finish(store, run_id, "sent", sent_at=now(), message_id=message_id, error=None)
    return True


def _message(config: Config, run: dict, recipients: list[str], files: list[dict]):
    lang = run["lang"]
    _ = translator(lang)
    municipality = config.section(MunicipalityConfig)
    tz = municipality.timezone
    period = Period.parse(run["period"], tz, now=0.0)
    dates = f"{local(period.start, tz):%Y-%m-%d} – {local(period.end - 1, tz):%Y-%m-%d}"
    name = municipality.name_ar if lang == "ar" else municipality.name_en
    subject = _(SUBJECT) % {"municipality": name, "period": run["period"]}
    text = _(BODY) % {"period": run["period"], "dates": dates}
    attachments = [(f["filename"], Path(f["path"]).read_bytes(), MIME[f["format"]])
                   for f in files]
    return compose(config.section(MailConfig), recipients, subject, text,
                   attachments=attachments, lang=lang)


# ---- downloads ---------------------------------------------------------------------------------

def recent_files(store: Store, limit: int = 100) -> list[dict]:
    return list(store.db.query(
        "SELECT f.id, f.format, f.filename, f.size, s.name AS schedule, r.period, r.status, "
        "r.built_at, r.sent_at, r.error FROM report_files f "
        "JOIN report_runs r ON r.id = f.run_id JOIN report_schedules s ON s.id = r.schedule_id "
        "ORDER BY f.id DESC LIMIT ?", [limit]))


def runs(store: Store, limit: int = 100) -> list[dict]:
    return list(store.db.query(
        "SELECT r.*, s.name FROM report_runs r JOIN report_schedules s ON s.id = r.schedule_id "
        "ORDER BY r.id DESC LIMIT ?", [limit]))


def kept_file(store: Store, config: Config, file_id: int) -> tuple[dict, bytes] | None:
    """A kept report's row and bytes; None when unknown or its file is gone. Only paths under
    the reports folder are read."""
    rows = list(store.db.query("SELECT * FROM report_files WHERE id = ?", [file_id]))
    if not rows:
        return None
    path = Path(rows[0]["path"]).resolve()
    if not path.is_relative_to(reports_folder(config).resolve()) or not path.is_file():
        return None
    return rows[0], path.read_bytes()


class Scheduler:
    """Checks the schedules every ``interval_s`` on its own thread (in `oasis run`), while it
    holds the schedules' lease (the module's docstring)."""

    LEASE = "report-schedules"

    def __init__(self, open_store: Callable[[], Store], config: Config,
                 interval_s: float = 60.0, *, ttl_s: float = WORKER_TTL_S):
        self.open_store, self.config, self.interval_s = open_store, config, interval_s
        self.lease = Singleton(open_store, self.LEASE, ttl_s=ttl_s,
                               holder=holder_id(f"{self.LEASE}:{uuid.uuid4().hex[:6]}"))
        #: Ticks this scheduler worked (it works only while it holds the lease).
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="report-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        # Wake often enough to renew the lease (a third of its TTL) between ticks.
        wait = min(self.interval_s, self.lease.ttl_s / 4)
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                if not self.lease.held():
                    next_tick = 0.0  # on taking it over, tick at once
                elif time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + self.interval_s
                    # Renewed all along a tick that builds PDFs for longer than the TTL.
                    with Hold(self.open_store, self.lease.name, self.lease.holder,
                              ttl_s=self.lease.ttl_s, keep=True):
                        self.tick()
            except Exception:
                log.exception("report scheduler tick failed")
            self._stop.wait(wait)
        try:
            self.lease.release()
        except Exception:  # the lease runs out by itself
            log.exception("report scheduler lease not released")

    def tick(self) -> list[int]:
        store = self.open_store()
        try:
            # The usage days that are over, rolled up first (nothing to do most ticks).
            usage_rollup.refresh(store, self.config.section(MunicipalityConfig).timezone, now())
            worked = run_due(store, self.config, holder=self.lease.holder,
                             ttl_s=self.lease.ttl_s)
        finally:
            store.close()
        self.ticks += 1
        return worked
