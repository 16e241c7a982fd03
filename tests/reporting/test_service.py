"""The 940 service KPIs of November 2026 in Riyadh, against figures computed by hand.

The reports are filed and moved through the 940 domain's own functions (intake, the outbox's
ack, workflow transitions, the SLA watcher's escalation and auto-close), in time order:

- A  lighting (SLA 72 h), portal, park-a, Sun 1 Nov 10:00: acknowledged Mon 2 Nov 10:00
     (1.0 business day); resolved 3 Nov 10:00, reopened by the citizen 4 Nov 10:00, resolved
     5 Nov 10:00, reopened again 8 Nov 10:00, resolved 9 Nov 10:00 (6.0 business days after
     filing: 14 h + 5 x 24 h + 10 h, Friday and Saturday not counted), confirmed 10 Nov.
- B  cleanliness (SLA 24 h), Open311, park-a, Wed 11 Nov 20:00; Thu 12 Nov is a holiday.
     Acknowledged Sun 15 Nov 08:00 (4 h + 8 h = 0.5 business day), resolved 12:00
     (16 h = 2/3 day) but late: the SLA is calendar hours (due Thu 12 Nov 20:00, holiday or
     not). Escalated to level 1 on 13 Nov, level 2 on 14 Nov; closed unanswered on 23 Nov.
- C  roads, portal, park-b, Fri 30 Oct 10:00, before the period: acknowledged Sun 1 Nov 09:00
     (0.375 day: the weekend counts nothing); late from 2 Nov (level 2 on 13 Nov); open at
     the period's end (31 days old) and resolved only on 2 Dec.
- D  parks, from the back office ("other"), park-b, Sat 28 Nov 10:00: never acknowledged.
- E  wifi, portal, park-a, 29 Nov 21:30Z = Mon 30 Nov 00:30 in Riyadh: a November report.
- F  wifi, portal, park-a, 30 Nov 21:30Z = Tue 1 Dec 00:30 in Riyadh: not a November report.
"""

import datetime as dt

import pytest

from captive_portal.reports import outbox
from captive_portal.reports.escalation import close_unanswered, escalate_overdue
from captive_portal.reports.history import PastReport, insert_history
from captive_portal.reports.intake import NewReport, file_report
from captive_portal.reports.workflow import transition
from core import inventory
from core.localtime import day_start
from core.store import Store
from reporting import service
from reporting.history import service as history
from reporting.model import Filters, Period

TZ = "Asia/Riyadh"
HOUR = 3600.0
NOVEMBER = Period.parse("month:2026-11", TZ, now=0)


def at(day: str, hour: float) -> float:
    return day_start(dt.date.fromisoformat(day), TZ) + hour * HOUR


def utc(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


class Desk:
    """The 940 domain driven by hand, one dated step at a time."""

    def __init__(self, store, config):
        self.store, self.config = store, config
        self.tracking: dict[str, str] = {}

    def file(self, name, category, channel, site, when, **extra):
        new = NewReport(category=category, description="test report", channel=channel,
                        site=site, lat=24.7, lon=46.7, **extra)
        self.tracking[name] = file_report(self.store, new, self.config.reports, now=when).tracking

    def forward(self, name, when):
        with self.store.transaction() as conn:
            outbox.acknowledge(conn, [self.tracking[name]], when)

    def move(self, name, status, when, actor="backoffice"):
        transition(self.store, self.tracking[name], status, actor=actor, now=when,
                   config=self.config.reports)


@pytest.fixture
def november(store, config):
    config.reporting.holidays = ["2026-11-12"]
    inventory.add_site(store, {"slug": "park-a", "name_ar": "حديقة أ", "name_en": "Park A",
                               "kind": "park", "lat": 24.66, "lon": 46.73}, "test")
    inventory.add_site(store, {"slug": "park-b", "name_ar": "حديقة ب", "name_en": "Park B",
                               "kind": "park"}, "test")
    desk = Desk(store, config)
    desk.file("C", "roads", "portal", "park-b", at("2026-10-30", 10))
    desk.forward("C", at("2026-10-30", 10.1))
    escalate_overdue(store, at("2026-10-31", 12), config.reports)  # nothing due yet
    desk.file("A", "lighting", "portal", "park-a", at("2026-11-01", 10),
              phone="0551234567", phone_verified=True)
    desk.move("C", "acknowledged", at("2026-11-01", 9))
    desk.forward("A", at("2026-11-01", 10.1))
    desk.move("A", "acknowledged", at("2026-11-02", 10))
    desk.move("A", "resolved", at("2026-11-03", 10))
    desk.move("A", "reopened", at("2026-11-04", 10), actor="citizen")
    desk.move("A", "acknowledged", at("2026-11-04", 11))
    desk.move("A", "resolved", at("2026-11-05", 10))
    desk.move("A", "reopened", at("2026-11-08", 10), actor="citizen")
    desk.move("A", "resolved", at("2026-11-09", 10))
    desk.move("A", "closed", at("2026-11-10", 10), actor="citizen")
    desk.file("B", "cleanliness", "open311", "park-a", at("2026-11-11", 20))
    desk.forward("B", at("2026-11-11", 20.1))
    escalate_overdue(store, at("2026-11-13", 10), config.reports)  # B to 1, C to 2
    escalate_overdue(store, at("2026-11-14", 10), config.reports)  # B to 2
    desk.move("B", "acknowledged", at("2026-11-15", 8))
    desk.move("B", "resolved", at("2026-11-15", 12))
    close_unanswered(store, at("2026-11-23", 12), config.reports)  # B, after 7 days
    desk.file("D", "parks", "backoffice", "park-b", at("2026-11-28", 10))
    desk.file("E", "wifi", "portal", "park-a", utc("2026-11-29T21:30:00"))
    desk.file("F", "wifi", "portal", "park-a", utc("2026-11-30T21:30:00"))
    desk.move("C", "resolved", at("2026-12-02", 10))
    return store, config


def values(section):
    return {f.key.removeprefix("service."): f.value for f in section.figures}


def test_november_by_hand(november):
    store, config = november
    section = service.build(store, config, NOVEMBER, Filters())
    got = values(section)
    assert got["received"] == 4                                # A, B, D, E
    assert got["ack_median_days"] == 0.5                       # C 0.375, B 0.5, A 1.0
    assert got["ack_p90_days"] == 1.0
    assert got["close_median_days"] == pytest.approx((6.0 + 2 / 3) / 2)  # A 6.0, B 2/3
    assert got["close_p90_days"] == 6.0
    assert got["sla_percent"] == 50.0                          # A within, B late
    # Closures in November: A's three and B's one; A's first two reopened within days.
    assert got["reopen_14d_percent"] == 50.0
    assert got["reopen_30d_percent"] == 50.0
    assert got["backlog"] == 3                                 # C, D, E
    assert got["backlog_over_30d_percent"] == pytest.approx(100 / 3)  # C
    assert got["late"] == 1                                    # C
    assert got["escalations"] == 3
    assert got["sms_delivered_percent"] is None                # A's SMS not handed over yet
    assert section.figure("service.sla_percent").status == "red"

    channels = {r["channel"]: r["received"] for r in section.table("service-channels").rows}
    assert channels == {"Portal": 2, "Open311": 1, "Other": 1}
    sites = {r["site"]: r for r in section.table("service-sites").rows}
    assert (sites["park-a"]["received"], sites["park-a"]["portal"],
            sites["park-a"]["open311"]) == (3, 2, 1)
    assert (sites["park-b"]["received"], sites["park-b"]["other"],
            sites["park-b"]["backlog"], sites["park-b"]["late"]) == (1, 1, 2, 1)
    categories = {r["category"]: r for r in section.table("service-categories").rows}
    assert categories["lighting"]["close_median_days"] == 6.0
    assert categories["lighting"]["sla_percent"] == 100.0
    assert categories["cleanliness"]["sla_percent"] == 0.0
    assert categories["roads"]["ack_median_days"] == 0.375
    assert categories["roads"]["received"] == 0

    ages = {r["bucket"]: r["reports"] for r in section.table("service-backlog-age").rows}
    assert ages == {"0-3 days": 2, "4-7 days": 0, "8-30 days": 0, "Over 30 days": 1}
    levels = {r["level"]: r["escalations"] for r in section.table("service-escalations").rows}
    assert levels == {1: 1, 2: 2}
    answers = {r["outcome"]: r["reports"]
               for r in section.table("service-closure-answers").rows}
    assert answers["Confirmed by the citizen (closure code)"] == 1
    assert answers["Reopened by the citizen (closure code)"] == 2
    assert answers["Closed without an answer"] == 1

    late = section.table("service-late-sites").rows
    assert [(r["site"], r["late"], r["closed_late"], r["oldest"]) for r in late] == [
        ("park-b", 1, 0, "2026-10-30"), ("park-a", 0, 1, "")]
    assert (late[0]["lat"], late[0]["lon"]) == (24.7, 46.7)   # park-b has none: its reports'
    assert (late[1]["lat"], late[1]["lon"]) == (24.66, 46.73)  # park-a's own


def test_charts_count_riyadh_days(november):
    store, config = november
    section = service.build(store, config, NOVEMBER, Filters())
    daily = {s.label: s.points for s in section.charts[0].series}
    assert len(daily["Portal"]) == 30
    assert daily["Portal"][0] == (at("2026-11-01", 0), 1.0)     # A
    assert daily["Portal"][29] == (at("2026-11-30", 0), 1.0)    # E, 29 Nov in UTC
    assert daily["Open311"][10] == (at("2026-11-11", 0), 1.0)   # B
    assert daily["Other"][27] == (at("2026-11-28", 0), 1.0)     # D
    backlog = {s.label: [v for _, v in s.points] for s in section.charts[1].series}
    # At the end of 1 Nov: A (0 days) and C (2 days) open; at 30 Nov's end C, D and E.
    assert [backlog[k][0] for k in backlog] == [2, 0, 0, 0]
    assert [backlog[k][29] for k in backlog] == [2, 0, 0, 1]
    # C is 8 days old at the end of 6 Nov, with A and no one else.
    assert [backlog[k][6] for k in backlog] == [0, 0, 1, 0]
    # Over a year, a bar every 7 days: the one of 29 Oct..4 Nov ends with A and C open.
    year = service.build(store, config, Period.parse("2026-01-01..2026-12-31", TZ, now=0),
                         Filters()).charts[1]
    assert len(year.series[0].points) == 53
    assert year.title == "Open reports by age at each week's end"
    week = {s.label: dict(s.points)[at("2026-10-29", 0)] for s in year.series}
    assert week == {"0-3 days": 1, "4-7 days": 1, "8-30 days": 0, "Over 30 days": 0}


def test_filters_by_site_and_category(november):
    store, config = november
    park_b = values(service.build(store, config, NOVEMBER, Filters(site="park-b")))
    assert (park_b["received"], park_b["backlog"], park_b["late"]) == (1, 2, 1)
    assert park_b["ack_median_days"] == 0.375
    assert park_b["close_median_days"] is None
    lighting = values(service.build(store, config, NOVEMBER, Filters(category="lighting")))
    assert lighting["received"] == 1
    assert lighting["reopen_14d_percent"] == pytest.approx(200 / 3)  # 3 closures, 2 reopened
    assert lighting["close_median_days"] == 6.0
    assert lighting["backlog"] == 0


def test_december_sees_c_closed_late(november):
    store, config = november
    december = Period.parse("month:2026-12", TZ, now=0)
    got = values(service.build(store, config, december, Filters()))
    assert got["received"] == 1                                # F
    assert got["sla_percent"] == 0.0                           # C, a month late
    # C: 30 Oct 10:00 (a Friday) -> 2 Dec 10:00: the 33 days 30 Oct..1 Dec less 10 Fridays
    # and Saturdays and the 12 Nov holiday, and 10 h of 2 Dec.
    assert got["close_median_days"] == pytest.approx(22 + 10 / 24)


def test_an_empty_period_has_no_rates(store, config):
    empty = service.build(store, config, Period.parse("month:2026-06", TZ, now=0), Filters())
    got = values(empty)
    assert got["received"] == 0 and got["backlog"] == 0 and got["escalations"] == 0
    for key in ("ack_median_days", "ack_p90_days", "close_median_days", "close_p90_days",
                "sla_percent", "reopen_14d_percent", "reopen_30d_percent",
                "backlog_over_30d_percent", "sms_delivered_percent"):
        assert got[key] is None, key
    assert empty.figure("service.sla_percent").status == "none"


def test_sms_delivery_by_purpose(store, config):
    def report(when, sms):
        return PastReport(category="lighting", channel="portal", created_at=when,
                          due_at=when + 72 * HOUR, priority="normal", team="Lighting",
                          description="x", site="park-a", phone="+966551234567", sms=sms)

    start = at("2026-11-02", 9)
    insert_history(store, [
        report(start, [(start, "report_received", "delivered"),
                       (start + HOUR, "report_status", "delivered"),
                       (start + 2 * HOUR, "report_status", "failed")]),
        report(start, [(start, "report_received", "expired"),
                       (start + HOUR, "report_status", "submitted"),
                       (start + 2 * HOUR, "report_status", "queued")])])
    section = service.build(store, config, NOVEMBER, Filters())
    # Sent: everything the gateway took or refused (5); delivered 2; "queued" not yet sent.
    assert section.figure("service.sms_delivered_percent").value == 40.0
    rows = {r["purpose"]: r for r in section.table("service-sms").rows}
    assert (rows["Receipt"]["sent"], rows["Receipt"]["delivered"], rows["Receipt"]["failed"]) \
        == (2, 1, 1)
    assert (rows["Status update"]["decided"], rows["Status update"]["sent"],
            rows["Status update"]["delivered"]) == (4, 3, 1)


def test_the_history_is_deterministic_and_lives_through_the_kpis(config, other_store_location):
    end = at("2026-12-01", 0)
    figures = []
    for name in ("one", "two"):
        store = Store(other_store_location(f"{name}.db"))
        try:
            assert history.replay(store, config, end - 60 * 86400, end, reports=600) == 600
            figures.append(values(service.build(store, config, NOVEMBER, Filters())))
        finally:
            store.close()
    assert figures[0] == figures[1]
    got = figures[0]
    assert 250 <= got["received"] <= 350
    assert 0 < got["sla_percent"] < 100 and 0 < got["reopen_30d_percent"] < 30
    assert got["backlog"] > 0 and got["escalations"] > 0
    assert 80 < got["sms_delivered_percent"] < 100
