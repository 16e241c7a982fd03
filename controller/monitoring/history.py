"""A made-up past for the demo's AP charts, agreeing with its availability history.

`make run` writes a month of KPI history (reporting's availability among it); the AP, site and
network charts read the controller's own metrics, which a fresh store does not have. This
writes them once: hourly roll-ups for the month and a day of raw samples every five minutes,
with each AP's clients and traffic following the day (quiet before dawn, busiest in the
evening, in the municipality's time) and nothing measured while the availability history has
the AP down, so a chart's outages are the availability report's. Deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from controller.monitoring.metrics import HOUR, has_samples_before, hour_start
from core import localtime
from core.store import Store

RAW_STEP_S = 300
#: Download and upload per associated client at the day's peak, bits per second.
DOWNLOAD_PER_CLIENT = 360_000.0
UPLOAD_PER_CLIENT = 64_000.0


def busy(unix: float, tz: str) -> float:
    """How busy a park is at ``unix`` (0.05 before dawn .. 1 in the evening), local time."""
    moment = localtime.local(unix, tz)
    hour = moment.hour + moment.minute / 60
    if 6 <= hour < 20:      # filling up from dawn to the evening
        shape = math.sin(math.pi / 2 * (hour - 6) / 14) ** 2
    elif hour >= 20:        # emptying towards midnight
        shape = math.cos(math.pi / 2 * (hour - 20) / 4) ** 2
    else:
        shape = 0.0
    return 0.05 + 0.95 * shape


def _down_share(spans: Sequence[tuple[float, float]], start: float, end: float) -> float:
    covered = sum(max(0.0, min(b, end) - max(a, start)) for a, b in spans)
    return min(1.0, covered / (end - start))


def seed(store: Store, ap_ids: Iterable[int], *, start: float, end: float, tz: str,
         down: Mapping[int, Sequence[tuple[float, float]]]) -> int:
    """Write the APs' metrics for ``[start, end)`` unless any is stored already; returns the
    rows written. ``down``: each AP's outages (from the availability history)."""
    ids = sorted(set(ap_ids))
    if not ids or has_samples_before(store, ids, end):
        return 0
    raw_from = max(start, end - 24 * HOUR)
    hourly_rows: list[tuple] = []
    raw_rows: list[tuple] = []
    for ap_id in ids:
        size = 8 + (ap_id * 7) % 23                  # each AP its own crowd
        spans = down.get(ap_id, ())
        hour = hour_start(start) + HOUR
        while hour + HOUR <= hour_start(raw_from):
            up_share = 1.0 - _down_share(spans, hour, hour + HOUR)
            clients = size * busy(hour + HOUR / 2, tz) * up_share
            hourly_rows.append((ap_id, hour, 12, round(12 * up_share), clients,
                                math.ceil(clients * 1.3), clients * DOWNLOAD_PER_CLIENT,
                                clients * UPLOAD_PER_CLIENT, clients * DOWNLOAD_PER_CLIENT * 1.6,
                                clients * UPLOAD_PER_CLIENT * 1.6, 0.0))
            hour += HOUR
        at = hour_start(raw_from)
        while at < end:
            if any(a <= at < b for a, b in spans):
                raw_rows.append((ap_id, int(at), 0, None, None, None, None, None, None))
            else:
                now_clients = round(size * busy(at, tz))
                raw_rows.append((ap_id, int(at), 1, now_clients,
                                 now_clients * DOWNLOAD_PER_CLIENT,
                                 now_clients * UPLOAD_PER_CLIENT, None, None, 0.0))
            at += RAW_STEP_S
    with store.transaction() as conn:
        conn.executemany(
            "INSERT OR IGNORE INTO metrics_hourly (ap_id, hour, samples, up_samples, "
            "clients_avg, clients_max, in_bps_avg, out_bps_avg, in_bps_max, out_bps_max, "
            "errors_ps_avg) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", hourly_rows)
        conn.executemany(
            "INSERT OR IGNORE INTO metrics_raw (ap_id, at, up, clients, in_bps, out_bps, "
            "in_pps, out_pps, errors_ps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", raw_rows)
    return len(hourly_rows) + len(raw_rows)


__all__ = ["busy", "seed"]
