"""Business time: whole Riyadh days count, Friday, Saturday and holidays do not (hand-computed).

Calendar of the fixtures: 2026-12-03 is a Thursday, 12-04 Friday, 12-05 Saturday, 12-06 Sunday.
"""

import datetime as dt

import pytest

from core.config import load_config
from core.localtime import day_start
from reporting.calendar import BusinessCalendar

TZ = "Asia/Riyadh"
HOUR = 3600.0


def at(day: str, hour: float) -> float:
    """Riyadh local time on ``day`` (YYYY-MM-DD) at ``hour`` as unix seconds."""
    return day_start(dt.date.fromisoformat(day), TZ) + hour * HOUR


@pytest.fixture
def saudi():
    return BusinessCalendar(TZ, weekend=(5, 6), holidays={dt.date(2026, 12, 7)})


def test_a_business_day_counts_every_hour(saudi):
    assert saudi.seconds(at("2026-12-06", 9), at("2026-12-06", 17)) == 8 * HOUR


def test_the_weekend_counts_nothing_and_partial_days_count_their_share(saudi):
    # Thursday 20:00 -> Sunday 08:00: 4 h of Thursday, no Friday or Saturday, 8 h of Sunday.
    assert saudi.seconds(at("2026-12-03", 20), at("2026-12-06", 8)) == 12 * HOUR
    assert saudi.days(at("2026-12-03", 20), at("2026-12-06", 8)) == 0.5
    assert saudi.seconds(at("2026-12-04", 10), at("2026-12-05", 23)) == 0


def test_a_holiday_counts_nothing(saudi):
    # Sunday 12:00 -> Tuesday 12:00 over Monday 2026-12-07, a holiday: 12 h + 0 + 12 h.
    assert saudi.days(at("2026-12-06", 12), at("2026-12-08", 12)) == 1.0
    assert BusinessCalendar(TZ).days(at("2026-12-06", 12), at("2026-12-08", 12)) == 2.0


def test_days_are_riyadh_days_not_utc_days(saudi):
    # 20:30Z and 21:30Z on Thursday 3 December are 23:30 Thursday and 00:30 Friday in Riyadh
    # (UTC+3, no DST): only the first half hour is a business one. Reckoned in UTC, both would
    # fall on Thursday (an hour).
    start = dt.datetime(2026, 12, 3, 20, 30, tzinfo=dt.UTC).timestamp()
    assert saudi.seconds(start, start + HOUR) == 1800
    assert BusinessCalendar("UTC").seconds(start, start + HOUR) == HOUR
    # No DST: a July Sunday is 24 hours long as well.
    assert saudi.seconds(at("2026-07-05", 0), at("2026-07-06", 0)) == 24 * HOUR


def test_across_a_new_year_and_backwards(saudi):
    # Thursday 31 December 12:00 -> Sunday 3 January 12:00: 12 h + weekend + 12 h.
    assert saudi.days(at("2026-12-31", 12), at("2027-01-03", 12)) == 1.0
    assert saudi.seconds(at("2027-01-03", 12), at("2026-12-31", 12)) == -86400
    assert saudi.seconds(at("2026-12-06", 9), at("2026-12-06", 9)) == 0


def test_another_weekend(saudi):
    sunday_off = BusinessCalendar(TZ, weekend=(6, 7))
    assert sunday_off.seconds(at("2026-12-04", 0), at("2026-12-07", 0)) == 24 * HOUR  # Friday


def test_from_the_reporting_section():
    config = load_config(env={"OASIS_REPORTING_HOLIDAYS": "2026-12-06..2026-12-07"})
    calendar = BusinessCalendar.from_config(config)
    assert calendar.tz == TZ
    assert not calendar.is_business_day(dt.date(2026, 12, 7))
    assert calendar.is_business_day(dt.date(2026, 12, 8))
    # Thursday noon -> Tuesday noon: 12 h Thursday, weekend, two holidays, 12 h Tuesday.
    assert calendar.days(at("2026-12-03", 12), at("2026-12-08", 12)) == 1.0
