"""A deterministic history of 940 reports for the KPI demo (`make run`: a month) and the
benchmark (bench/reporting.py: a year, 100,000 reports).

Reports are drawn over [start, end) at the sites of the inventory (or made-up parks around
Riyadh when there are none), in the catalogue's categories, from the portal, Open311 and the
back office; each lives a plausible life: forwarded, acknowledged after some hours, resolved
mostly within its category's SLA (calendar hours, as the SLA watcher reckons it), confirmed by
the citizen, closed without an answer, or disputed and reopened (a few twice); late ones are
escalated (level 1 at the due time, level 2 a day later); reporters with a phone get their SMS,
most delivered. Nothing after ``now`` happens yet, so the end of the history has a backlog.

The facts are written directly through `captive_portal.reports.history.insert_history`, not
played through the reference back office over MQTT: a month of status updates at the back
office's pace would take longer than a demo start may, and a year far longer. The same seed
gives the same history.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass

from captive_portal.reports.catalogue import list_categories
from captive_portal.reports.history import PastReport, insert_history
from core.config import Config
from core.inventory import list_sites
from core.localtime import local
from core.store import Store

HOUR = 3600.0
DAY = 86400.0
#: Made-up parks around Riyadh for a store without sites.
DEMO_SITES = (("king-abdullah-park", 24.6661, 46.7377), ("salam-park", 24.6236, 46.7066),
              ("wadi-hanifah-walk", 24.6409, 46.6205), ("al-rawdah-park", 24.7360, 46.7680),
              ("king-fahd-walk", 24.7390, 46.6570))
CHANNEL_WEIGHTS = (("portal", 0.70), ("open311", 0.25), ("backoffice", 0.05))
#: Share of reports per category code (others share what is left equally).
CATEGORY_WEIGHTS = {"cleanliness": 0.28, "lighting": 0.22, "parks": 0.16, "water": 0.10,
                    "roads": 0.10, "pests": 0.06, "wifi": 0.08}
DESCRIPTIONS = {"ar": "بلاغ من سجل تجريبي", "en": "A report from the demo history"}


@dataclass(frozen=True)
class Site:
    slug: str
    lat: float
    lon: float


def _sites(store: Store) -> list[Site]:
    sites = [Site(s["slug"], s["lat"], s["lon"]) for s in list_sites(store)
             if s["kind"] in ("park", "walkway") and s["lat"] is not None]
    return sites or [Site(*s) for s in DEMO_SITES]


def _pick(rng: random.Random, weighted) -> str:
    x, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if x < total:
            return value
    return weighted[-1][0]


def _lognormal_hours(rng: random.Random, median_hours: float, spread: float = 0.8) -> float:
    return median_hours * math.exp(rng.gauss(0.0, spread)) * HOUR


class _Life:
    """One report's life being drawn: its moves, escalations and SMS, cut at ``now``."""

    def __init__(self, report: PastReport, now: float, sla_seconds: float):
        self.report, self.now, self.sla = report, now, sla_seconds
        self.at = report.created_at
        self.status = "received"

    def move(self, after: float, status: str, actor: str) -> bool:
        """Move ``after`` seconds from the last move; False (and nothing) once past now."""
        at = self.at + max(1.0, after)
        if at > self.now:
            return False
        self.at, self.status = at, status
        self.report.moves.append((at, status, actor))
        if status == "resolved":
            self.sms(at, "closure_code")
        elif status != "forwarded":
            self.sms(at, "report_status")
        return True

    def sms(self, at: float, purpose: str) -> None:
        """A citizen SMS (its delivery state is drawn once the life is complete)."""
        if self.report.phone is not None:
            self.report.sms.append((at, purpose, ""))


def _sms_state(rng: random.Random, at: float, now: float) -> str:
    if now - at < 120:
        return "submitted"
    x = rng.random()
    return "delivered" if x < 0.95 else ("failed" if x < 0.98 else "expired")


def draw(rng: random.Random, created_at: float, now: float, site: Site, category,
         tz: str) -> PastReport:
    """One report filed at ``created_at`` and its life up to ``now``."""
    channel = _pick(rng, CHANNEL_WEIGHTS)
    locale = "ar" if rng.random() < 0.8 else "en"
    urgent = rng.random() < 0.03
    priority = "urgent" if urgent else category.default_priority
    sla = category.sla_hours * HOUR * (0.25 if urgent else 1.0)
    phone = f"+9665{rng.randrange(10**8):08d}" if channel == "portal" and rng.random() < 0.6 \
        else None
    report = PastReport(
        category=category.code, channel=channel, created_at=created_at,
        due_at=created_at + sla, priority=priority, team=category.team,
        description=DESCRIPTIONS[locale], site=site.slug,
        lat=round(site.lat + rng.gauss(0, 0.002), 6), lon=round(site.lon + rng.gauss(0, 0.002), 6),
        locale=locale, phone=phone)
    if phone:
        report.sms.append((created_at, "report_received", ""))
    life = _Life(report, now, sla)
    cycles = 0
    while True:
        opened = life.at
        if not life.move(rng.uniform(5, 90) if life.status == "received" else 60,
                         "forwarded" if life.status == "received" else "acknowledged",
                         "forwarder" if life.status == "received" else "backoffice"):
            break
        if life.status == "forwarded" and not life.move(
                _lognormal_hours(rng, 3.0 if local(life.at, tz).hour in range(7, 22) else 9.0),
                "acknowledged", "backoffice"):
            break
        if rng.random() < 0.03 and cycles == 0:
            life.move(_lognormal_hours(rng, 2.0), "rejected", "backoffice")
            break
        if not life.move(_lognormal_hours(rng, 1.5), "in_progress", "backoffice"):
            break
        # Most work ends within the SLA; some categories' teams are slower than others.
        work = _lognormal_hours(rng, sla / HOUR * rng.choice((0.25, 0.35, 0.5)), 0.7)
        due = opened + sla
        resolve_at = life.at + work
        for level, at in ((1, due + 60), (2, due + 24 * HOUR + 60)):
            if at < min(resolve_at, now):
                report.escalations.append((at, level))
        if not life.move(work, "resolved", "backoffice"):
            break
        answer = rng.random()
        reopen_share = 0.06 if cycles == 0 else 0.25
        if answer < reopen_share:
            if not life.move(_lognormal_hours(rng, 30.0), "reopened", "citizen"):
                break
            cycles += 1
            report.due_at = life.at + sla
            continue
        if answer < 0.75:
            life.move(_lognormal_hours(rng, 20.0), "closed", "citizen")
        else:
            life.move(7 * DAY + rng.uniform(0, HOUR), "closed", "sla")
        break
    report.sms = [(at, purpose, _sms_state(rng, at, now)) for at, purpose, _ in report.sms
                  if at <= now]
    report.escalations = [e for e in report.escalations if e[0] <= now]
    return report


def replay(store: Store, config: Config, start: float, end: float, *, reports: int | None = None,
           per_day: float = 30.0, seed: int = 940, now: float | None = None,
           batch: int = 20_000) -> int:
    """Write a history of 940 reports filed in [start, end) (``reports`` of them, else
    ``per_day`` a day), their lives drawn up to ``now`` (default: ``end``). Returns how many."""
    now = end if now is None else now
    tz = config.municipality.timezone
    rng = random.Random(seed)
    sites = _sites(store)
    categories = list_categories(store)
    weights = [CATEGORY_WEIGHTS.get(c.code, 0.02) for c in categories]
    count = reports if reports is not None else int((end - start) / DAY * per_day)
    # Filing times: uniform over the days, most of them in the park's busy hours.
    times = []
    for _ in range(count):
        at = rng.uniform(start, end)
        hour = local(at, tz).hour
        if hour < 7 and rng.random() < 0.7:
            at = min(end - 1, at + rng.uniform(7, 14) * HOUR)
        # A past report has been forwarded (it has no outbox message to be forwarded with).
        times.append(min(at, now - 120))
    times.sort()
    written = 0
    for first in range(0, count, batch):
        chunk = [draw(rng, at, now, rng.choice(sites), rng.choices(categories, weights)[0], tz)
                 for at in times[first:first + batch]]
        written += insert_history(store, chunk, check=False)
    return written


def replay_month(store: Store, config: Config, *, now: float | None = None,
                 per_day: float = 30.0, seed: int = 940) -> int:
    """The demo's history: the 30 days before ``now``."""
    now = time.time() if now is None else now
    return replay(store, config, now - 30 * DAY, now, per_day=per_day, seed=seed, now=now)


__all__ = ["DEMO_SITES", "draw", "replay", "replay_month"]
