"""The demo's month of AP chart history: written once, busiest in the evening, and down exactly
when the availability history says (so a chart's outage is the report's)."""

from __future__ import annotations

import time

from controller import demo
from controller.monitoring import history, metrics
from reporting import availability
from tests.fleet import add_ap, add_site

DAY = 86400


def test_chart_history_follows_the_availability_history(config, store, secrets):
    add_site(store)
    first, second = add_ap(store, secrets, 1), add_ap(store, secrets, 2)
    now = time.time()
    outage = (now - 3 * DAY, now - 3 * DAY + 2 * 3600)        # two hours down, three days ago
    recent = (now - 5 * 3600, now - 4 * 3600)                  # an hour down this morning
    for began, ended in (outage, recent):
        availability.record_transition(store, first["id"], "down", began, source="history")
        availability.record_transition(store, first["id"], "up", ended, source="history")
    spans = availability.down_spans(store, now - 30 * DAY, now)
    assert spans == {first["id"]: [outage, recent]}

    written = demo.seed_chart_history(store, config)
    assert written > 2 * 29 * 24
    assert demo.seed_chart_history(store, config) == 0        # once

    month = metrics.series(store, first["id"], now - 30 * DAY, now)
    assert month.resolution == "hourly" and len(month.points) >= 28 * 24
    down_hours = [p for p in month.points if p.up_ratio < 1]
    assert down_hours and all(outage[0] - 3600 < p.at < outage[1] for p in down_hours)
    day = metrics.series(store, first["id"], now - DAY, now)
    assert day.resolution == "raw"
    unanswered = [p.at for p in day.points if p.up_ratio == 0]
    assert unanswered and all(recent[0] - 300 <= at < recent[1] for at in unanswered)
    assert all(p.clients is None for p in day.points if p.up_ratio == 0)
    other = metrics.series(store, second["id"], now - DAY, now)
    assert all(p.up_ratio == 1 for p in other.points)


def test_parks_are_busiest_in_the_evening_local_time():
    tz = "Asia/Riyadh"
    midnight_utc = 1_796_515_200                              # 2026-12-05 00:00 UTC = 03:00 +03
    by_hour = {h: history.busy(midnight_utc + (h - 3) * 3600, tz) for h in range(3, 27)}
    assert max(by_hour, key=lambda h: by_hour[h]) % 24 in (19, 20, 21)
    assert by_hour[4] < 0.1 < by_hour[12]
