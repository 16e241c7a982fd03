"""The 940 service KPIs: reports received, times to acknowledge and close in business days, SLA
compliance, reopens, closure-code answers, backlog by age, escalations, SMS delivery and late
reports by site. Definitions and formulas: docs/reporting.md, "940 service".

Computed on demand from the 940 domain's facts (`captive_portal.reports.kpi_queries`): one
read of every report filed, moved or open in the period with its status timeline, then one
pass in Python. Nothing is rolled up: a report's life can change after the fact (a reopen
a month later), so a period is always reckoned from the timelines as they stand, and the
indexed read stays small (a month is the period's reports plus the open backlog).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from collections.abc import Iterable

from captive_portal.reports import kpi_queries
from captive_portal.reports.catalogue import list_categories
from captive_portal.reports.lifecycle import SETTLED
from core.config import Config
from core.inventory import list_sites
from core.localtime import day_start, show
from core.store import Store
from reporting.calendar import DAY, BusinessCalendar
from reporting.i18n import N_
from reporting.model import Chart, Column, Figure, Filters, Period, Section, Series, Table, Target
from reporting.service_timeline import REOPEN_WINDOWS, Timeline, median, p90, percent

AREA = "service"
CHANNELS = ("portal", "open311", "other")
CHANNEL_LABELS = {"portal": N_("Portal"), "open311": N_("Open311"), "other": N_("Other")}
#: Backlog age buckets in whole calendar days since filing: (key, label, first day, last day).
AGE_BUCKETS = (("0-3", N_("0-3 days"), 0, 3), ("4-7", N_("4-7 days"), 4, 7),
               ("8-30", N_("8-30 days"), 8, 30), ("31+", N_("Over 30 days"), 31, math.inf))
#: Longest period whose backlog chart has a bar a day (then a bar every 7 days).
DAILY_BACKLOG_DAYS = 92
SMS_PURPOSES = {"report_received": N_("Receipt"), "report_status": N_("Status update"),
                "closure_code": N_("Closure code"), "escalation": N_("Escalation to staff")}
#: SMS gateway states that are not yet an outcome (and a notification not handed over yet).
SMS_PENDING = frozenset({None, "queued"})
SMS_FAILED = frozenset({"failed", "expired", "abandoned"})

TARGET_SLA_PERCENT = Target(green=90.0, amber=80.0)  # [reporting] service_sla_green/amber
TARGET_ACK_DAYS = Target(green=1.0, amber=2.0, higher_is_better=False)
TARGET_CLOSE_P90_DAYS = Target(green=3.0, amber=5.0, higher_is_better=False)
TARGET_REOPEN_PERCENT = Target(green=5.0, amber=10.0, higher_is_better=False)
TARGET_SMS_PERCENT = Target(green=95.0, amber=90.0)
TARGET_OVER_30_PERCENT = Target(green=5.0, amber=15.0, higher_is_better=False)


def channel_of(channel: str) -> str:
    return channel if channel in ("portal", "open311") else "other"


def age_bucket(created_at: float, at: float) -> str:
    """The `AGE_BUCKETS` key of a report filed at ``created_at``, seen at ``at``."""
    days = (at - created_at) // DAY
    return "0-3" if days < 4 else "4-7" if days < 8 else "8-30" if days < 31 else "31+"


def build(store: Store, config: Config, period: Period, filters: Filters) -> Section:
    """The "service" section of ``period``, narrowed by site and category."""
    calendar = BusinessCalendar.from_config(config)
    sla_target = Target(config.reporting.service_sla_green, config.reporting.service_sla_amber)
    return ServiceKpis(store, calendar, period, filters, sla_target=sla_target).section()


class ServiceKpis:
    """The facts of one period read once (timelines, escalations, SMS, catalogue, sites) and
    the section built from them."""

    def __init__(self, store: Store, calendar: BusinessCalendar, period: Period,
                 filters: Filters, *, sla_target: Target = TARGET_SLA_PERCENT):
        self.store = store
        self.calendar = calendar
        self.period = period
        self.filters = filters
        self.sla_target = sla_target
        self.start, self.end = period.start, period.end
        narrow = {"site": filters.site, "category": filters.category}
        self.timelines = [Timeline(f, self.start, self.end) for f in kpi_queries.service_reports(
            store, self.start, self.end, **narrow)]
        self.escalations = kpi_queries.escalations_by_level(store, self.start, self.end, **narrow)
        self.sms = kpi_queries.sms_states(store, self.start, self.end, **narrow)
        self.categories = {c.code: c for c in list_categories(store, include_inactive=True)}
        self.sites = {s["slug"]: s for s in list_sites(store)}

    def _in(self, at: float | None) -> bool:
        return at is not None and self.start <= at < self.end

    # -- the section ---------------------------------------------------------------------------

    def section(self) -> Section:
        received = [t for t in self.timelines if self._in(t.facts.created_at)]
        acked = [t for t in self.timelines if self._in(t.first_ack)]
        closed = self._closed()
        backlog = [t for t in self.timelines if t.open_at_end]
        late = [t for t in backlog if t.due_at(self.end) < self.end]

        days = self.calendar.days
        ack_days = []
        for t in acked:
            if t.first_ack is not None:
                t.ack_days = days(t.facts.created_at, t.first_ack)
                ack_days.append(t.ack_days)
        close_days = [d for _, _, _, d in closed]
        within = sum(1 for _, _, ok, _ in closed if ok)
        reopen = self._reopens()
        buckets = Counter(age_bucket(t.facts.created_at, self.end) for t in backlog)
        over_30 = buckets[AGE_BUCKETS[-1][0]]
        sms = self._sms_rows()
        sent = sum(r["sent"] for r in sms)
        delivered = sum(r["delivered"] for r in sms)

        figures = [
            Figure("service.received", N_("Reports received"), float(len(received)), "count"),
            Figure("service.ack_median_days", N_("Time to acknowledge, median"),
                   median(ack_days), "days", TARGET_ACK_DAYS, N_("Business days")),
            Figure("service.ack_p90_days", N_("Time to acknowledge, P90"), p90(ack_days),
                   "days", note=N_("Business days")),
            Figure("service.close_median_days", N_("Time to close, median"),
                   median(close_days), "days", note=N_("Business days")),
            Figure("service.close_p90_days", N_("Time to close, P90"), p90(close_days),
                   "days", TARGET_CLOSE_P90_DAYS, N_("Business days")),
            Figure("service.sla_percent", N_("Closed within SLA"),
                   percent(within, len(closed)), "percent", self.sla_target,
                   N_("Share of reports closed in the period by their SLA due time")),
            Figure("service.reopen_14d_percent", N_("Reopened within 14 days"),
                   percent(reopen[14], reopen[0]), "percent", TARGET_REOPEN_PERCENT),
            Figure("service.reopen_30d_percent", N_("Reopened within 30 days"),
                   percent(reopen[30], reopen[0]), "percent", TARGET_REOPEN_PERCENT),
            Figure("service.backlog", N_("Open reports at the period's end"),
                   float(len(backlog)), "count"),
            Figure("service.backlog_over_30d_percent", N_("Backlog older than 30 days"),
                   percent(over_30, len(backlog)), "percent", TARGET_OVER_30_PERCENT),
            Figure("service.late", N_("Late reports at the period's end"), float(len(late)),
                   "count"),
            Figure("service.escalations", N_("Escalations"),
                   float(sum(self.escalations.values())), "count"),
            Figure("service.sms_delivered_percent", N_("SMS delivered"),
                   percent(delivered, sent), "percent", TARGET_SMS_PERCENT,
                   N_("Delivered of those sent to the SMS gateway")),
        ]
        tables = [
            self._by_category(received, acked, closed),
            self._by_site(received, backlog, late, closed),
            self._by_channel(received),
            Table("service-backlog-age", N_("Backlog by age at the period's end"),
                  [Column("bucket", N_("Age")), Column("reports", N_("Reports"), "count")],
                  [{"bucket": label, "reports": buckets[key]}
                   for key, label, _, _ in AGE_BUCKETS]),
            Table("service-escalations", N_("Escalations by level"),
                  [Column("level", N_("Level"), "count"),
                   Column("escalations", N_("Escalations"), "count")],
                  [{"level": level, "escalations": self.escalations.get(level, 0)}
                   for level in sorted({1, 2} | set(self.escalations))]),
            self._closure_answers(),
            Table("service-sms", N_("SMS delivery by purpose"),
                  [Column("purpose", N_("Purpose")), Column("decided", N_("Decided"), "count"),
                   Column("sent", N_("Sent"), "count"),
                   Column("delivered", N_("Delivered"), "count"),
                   Column("failed", N_("Failed"), "count"),
                   Column("delivered_percent", N_("SMS delivered"), "percent")], sms),
            self._late_sites(late, closed),
        ]
        charts = [self._received_chart(received), self._backlog_chart()]
        return Section(AREA, N_("940 service"), self.period, self.filters, figures, tables,
                       charts)

    # -- cohorts -------------------------------------------------------------------------------

    def _closed(self) -> list[tuple[Timeline, float, bool, float]]:
        """Reports settled at the period's end whose last closure lies in the period:
        (timeline, closed at, within the SLA due time in force then, business days taken)."""
        closed = []
        for t in self.timelines:
            at = t.closed_at
            if t.status_end not in SETTLED or at is None or not self._in(at):
                continue
            closed.append((t, at, at <= t.due_at(at),
                           self.calendar.days(t.facts.created_at, at)))
        return closed

    def _reopens(self) -> dict[int, int]:
        """{0: closures in the period, 14: of them reopened within 14 days, 30: ... 30 days}.
        A reopen belongs to the closure just before it."""
        counts = {0: 0, **{days: 0 for days in REOPEN_WINDOWS}}
        for t in self.timelines:
            counts[0] += t.closures
            for days, n in (t.reopened_within or {}).items():
                counts[days] += n
        return counts

    # -- tables --------------------------------------------------------------------------------

    def _by_category(self, received, acked, closed) -> Table:
        rows: dict[str, dict] = {}

        def row(code: str) -> dict:
            if code not in rows:
                category = self.categories.get(code)
                rows[code] = {"category": code,
                              "name_ar": category.name_ar if category else code,
                              "name_en": category.name_en if category else code,
                              "sla_hours": category.sla_hours if category else None,
                              "received": 0, "closed": 0, "within_sla": 0,
                              "_ack": [], "_close": []}
            return rows[code]

        for t in received:
            row(t.facts.category)["received"] += 1
        for t in acked:
            row(t.facts.category)["_ack"].append(t.ack_days)
        for t, _, ok, days in closed:
            r = row(t.facts.category)
            r["closed"] += 1
            r["within_sla"] += ok
            r["_close"].append(days)
        order = {code: n for n, code in enumerate(self.categories)}
        result = []
        for code in sorted(rows, key=lambda c: (order.get(c, len(order)), c)):
            r = rows[code]
            ack, close = r.pop("_ack"), r.pop("_close")
            r.update(sla_percent=percent(r["within_sla"], r["closed"]),
                     ack_median_days=median(ack), close_median_days=median(close),
                     close_p90_days=p90(close))
            result.append(r)
        return Table("service-categories", N_("By category"), [
            Column("category", N_("Category")), Column("name_ar", N_("Name (Arabic)")),
            Column("name_en", N_("Name (English)")),
            Column("sla_hours", N_("SLA (hours)"), "count"),
            Column("received", N_("Received"), "count"), Column("closed", N_("Closed"), "count"),
            Column("within_sla", N_("Closed within SLA"), "count"),
            Column("sla_percent", N_("Within SLA"), "percent"),
            Column("ack_median_days", N_("Time to acknowledge, median"), "days"),
            Column("close_median_days", N_("Time to close, median"), "days"),
            Column("close_p90_days", N_("Time to close, P90"), "days")], result)

    def _site_names(self, slug: str | None) -> dict:
        site = self.sites.get(slug or "")
        return {"site": slug or "",
                "name_ar": site["name_ar"] if site else (slug or ""),
                "name_en": site["name_en"] if site else (slug or "")}

    def _by_site(self, received, backlog, late, closed) -> Table:
        rows: dict[str, dict] = {}

        def row(slug: str | None) -> dict:
            key = slug or ""
            if key not in rows:
                rows[key] = {**self._site_names(slug), "received": 0,
                             **{c: 0 for c in CHANNELS}, "closed": 0, "within_sla": 0,
                             "backlog": 0, "late": 0}
            return rows[key]

        for t in received:
            r = row(t.facts.site)
            r["received"] += 1
            r[channel_of(t.facts.channel)] += 1
        for t, _, ok, _ in closed:
            r = row(t.facts.site)
            r["closed"] += 1
            r["within_sla"] += ok
        for t in backlog:
            row(t.facts.site)["backlog"] += 1
        for t in late:
            row(t.facts.site)["late"] += 1
        for r in rows.values():
            r["sla_percent"] = percent(r["within_sla"], r["closed"])
        return Table("service-sites", N_("By site"), [
            Column("site", N_("Site")), Column("name_ar", N_("Name (Arabic)")),
            Column("name_en", N_("Name (English)")),
            Column("received", N_("Received"), "count"),
            *(Column(c, CHANNEL_LABELS[c], "count") for c in CHANNELS),
            Column("closed", N_("Closed"), "count"),
            Column("sla_percent", N_("Within SLA"), "percent"),
            Column("backlog", N_("Open at the period's end"), "count"),
            Column("late", N_("Late at the period's end"), "count")],
            [rows[k] for k in sorted(rows)])

    def _by_channel(self, received) -> Table:
        counts = Counter(channel_of(t.facts.channel) for t in received)
        return Table("service-channels", N_("By channel"), [
            Column("channel", N_("Channel")), Column("received", N_("Received"), "count"),
            Column("share_percent", N_("Share"), "percent")],
            [{"channel": CHANNEL_LABELS[c], "received": counts[c],
              "share_percent": percent(counts[c], len(received))} for c in CHANNELS])

    def _closure_answers(self) -> Table:
        counts: Counter[str] = Counter()
        for t in self.timelines:
            if t.answers:
                counts.update(t.answers)
        labels = (("confirmed", N_("Confirmed by the citizen (closure code)")),
                  ("disputed", N_("Reopened by the citizen (closure code)")),
                  ("unanswered", N_("Closed without an answer")),
                  ("reopened_staff", N_("Reopened by staff")))
        answered = counts["confirmed"] + counts["disputed"]
        return Table("service-closure-answers", N_("Closure codes: confirmations and reopens"), [
            Column("outcome", N_("Outcome")), Column("reports", N_("Reports"), "count"),
            Column("share_percent", N_("Share of citizen answers"), "percent")],
            [{"outcome": label, "reports": counts[key],
              "share_percent": percent(counts[key], answered)
              if key in ("confirmed", "disputed") else None} for key, label in labels])

    def _sms_rows(self) -> list[dict]:
        rows: dict[str, dict] = {}
        for purpose, state, count in self.sms:
            r = rows.setdefault(purpose, {"purpose": SMS_PURPOSES.get(purpose, purpose),
                                          "decided": 0, "sent": 0, "delivered": 0, "failed": 0})
            r["decided"] += count
            if state in SMS_PENDING:
                continue
            r["sent"] += count
            if state == "delivered":
                r["delivered"] += count
            elif state in SMS_FAILED:
                r["failed"] += count
        for r in rows.values():
            r["delivered_percent"] = percent(r["delivered"], r["sent"])
        return [rows[p] for p in sorted(rows)]

    def _late_sites(self, late: list[Timeline], closed) -> Table:
        """Sites with reports late at the period's end or closed late in it, worst first, with
        coordinates for a map: the site's own, else the mean of its late reports'."""
        rows: dict[str, dict] = {}
        points: dict[str, list[tuple[float, float]]] = defaultdict(list)

        def row(slug: str | None) -> dict:
            return rows.setdefault(slug or "", {**self._site_names(slug), "late": 0,
                                                "closed_late": 0, "_oldest": math.inf})

        for t in late:
            r = row(t.facts.site)
            r["late"] += 1
            r["_oldest"] = min(r["_oldest"], t.facts.created_at)
        for t, _, ok, _ in closed:
            if not ok:
                row(t.facts.site)["closed_late"] += 1
        for t in [*late, *(t for t, _, ok, _ in closed if not ok)]:
            if t.facts.lat is not None and t.facts.lon is not None:
                points[t.facts.site or ""].append((t.facts.lat, t.facts.lon))
        result = []
        for key, r in rows.items():
            oldest = r.pop("_oldest")
            site = self.sites.get(key)
            lat: float | None
            lon: float | None
            if site and site.get("lat") is not None:
                lat, lon = site["lat"], site["lon"]
            elif points[key]:
                lat = sum(p[0] for p in points[key]) / len(points[key])
                lon = sum(p[1] for p in points[key]) / len(points[key])
            else:
                lat = lon = None
            known = oldest != math.inf
            r.update(oldest=show(oldest, self.period.tz, "%Y-%m-%d") if known else "",
                     oldest_days=(self.end - oldest) / DAY if known else None, lat=lat, lon=lon)
            result.append(r)
        result.sort(key=lambda r: (-r["late"], -(r["oldest_days"] or 0), -r["closed_late"],
                                   r["site"]))
        return Table("service-late-sites", N_("Late reports by site"), [
            Column("site", N_("Site")), Column("name_ar", N_("Name (Arabic)")),
            Column("name_en", N_("Name (English)")),
            Column("late", N_("Late at the period's end"), "count"),
            Column("closed_late", N_("Closed late in the period"), "count"),
            Column("oldest", N_("Oldest late report filed")),
            Column("oldest_days", N_("Its age (days)"), "days"),
            Column("lat", N_("Latitude"), "text"), Column("lon", N_("Longitude"), "text")],
            result)

    # -- charts --------------------------------------------------------------------------------

    def _day_starts(self) -> list[float]:
        return [max(self.start, day_start(day, self.period.tz)) for day in self.period.days()]

    def _received_chart(self, received: Iterable[Timeline]) -> Chart:
        starts = self._day_starts()
        counts = {c: [0] * len(starts) for c in CHANNELS}
        for t in received:
            n = bisect.bisect_right(starts, t.facts.created_at) - 1
            counts[channel_of(t.facts.channel)][n] += 1
        return Chart("service-received-daily", N_("Reports received per day by channel"), "bar",
                     "count", [Series(CHANNEL_LABELS[c], list(zip(starts, map(float, counts[c]))))
                               for c in CHANNELS])

    def _backlog_chart(self) -> Chart:
        """Open reports by age at the end of each local day of the period (of each 7 days
        for a period over `DAILY_BACKLOG_DAYS` days: a year of daily bars is unreadable)."""
        starts = self._day_starts()
        weekly = len(starts) > DAILY_BACKLOG_DAYS
        starts = starts[::7] if weekly else starts
        samples = [*starts[1:], self.end]
        counts = {key: [0] * len(samples) for key, _, _, _ in AGE_BUCKETS}
        for t in self.timelines:
            for opened, closed in t.open_spans:
                # open at a sample s when opened < s <= closed (status just before s)
                first = bisect.bisect_right(samples, opened)
                last = bisect.bisect_right(samples, closed)
                for n in range(first, last):
                    counts[age_bucket(t.facts.created_at, samples[n])][n] += 1
        title = N_("Open reports by age at each week's end") if weekly \
            else N_("Open reports by age at each day's end")
        return Chart("service-backlog-age", title, "bar",
                     "count", [Series(label, list(zip(starts, map(float, counts[key]))))
                               for key, label, _, _ in AGE_BUCKETS])


__all__ = ["AGE_BUCKETS", "AREA", "ServiceKpis", "build", "median", "p90"]
