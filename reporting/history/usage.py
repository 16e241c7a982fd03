"""A deterministic WiFi usage history for the KPI demo (a month) and the benchmark (a year,
1,000,000 sessions): portal sessions, the login funnel's counters and login failures, written
as the portal would have written them, in bulk (`captive_portal.usage.record_history`,
executemany, one transaction per local day).

Parks are busiest in the evening and on the weekend (Friday, Saturday); a session lasts some
25 minutes (median) up to the portal's hour; about a third of sessions come from regulars (the
same visitor id on other days of the month), the rest from passers-by. Visitor ids are made-up
hashes renewed each month, as the portal's are. The funnel is built backwards from the sessions
(a few more steps than logins, more pages than steps, more redirects than pages) and failures
are drawn at the rates a portal sees. The same seed gives the same history.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Sequence

from captive_portal import usage as portal_usage
from captive_portal.gateways import register_gateway
from core import inventory
from core.localtime import day_start, local
from core.secrets import SecretBox
from core.store import Store, now
from reporting import usage_rollup

#: Share of the day's sessions starting in each local hour (0-23): quiet at night, a morning
#: walk, the evening peak after sunset.
HOUR_WEIGHTS = (2, 1, 1, 0.5, 0.5, 1, 3, 4, 3, 2, 2, 2, 2, 2, 2, 3, 5, 7, 9, 10, 10, 9, 7, 4)
WEEKEND = (5, 6)           # ISO weekdays: Friday, Saturday
WEEKEND_FACTOR = 1.5
SESSION_S = 3600.0         # the portal's default session_minutes
REGULAR_SHARE = 0.35
#: Failures per login step (or per redirect for the link's own failures).
FAILURE_RATES = {
    "code_invalid": 0.06, "code_expired": 0.015, "code_attempts": 0.004,
    "sms_rate_phone": 0.003, "sms_resend_wait": 0.01, "terms_not_accepted": 0.01,
    "gateway_unavailable": 0.004, "too_many_requests": 0.002,
}
LINK_FAILURE_RATES = {"signature_stale": 0.02, "signature_invalid": 0.002}


def _gateways(store: Store, gateways: int | None,
              secret_box: SecretBox | None) -> list[tuple[str, str]]:
    """(gateway id, site) to spread sessions over: the registered gateways, or ``gateways``
    new ones ("history-gw-NN", at the inventory's sites in turn, registered with random keys)."""
    if gateways is None:
        found = sorted(portal_usage.gateway_sites(store).items())
        if not found:
            raise ValueError("no gateway is registered: register one, or ask for made-up ones")
        return found
    if secret_box is None:
        raise ValueError("made-up gateways are registered with keys: give the secret box")
    sites = [s["slug"] for s in inventory.list_sites(store)] or [None]
    made = []
    for n in range(1, gateways + 1):
        gateway_id, site = f"history-gw-{n:02d}", sites[(n - 1) % len(sites)]
        register_gateway(store, secret_box, gateway_id, f"History gateway {n}", site=site)
        made.append((gateway_id, site or ""))
    return made


def seed(store: Store, *, start: float, end: float, sessions_per_day: float = 2740.0,
         gateways: int | None = None, secret_box: SecretBox | None = None,
         tz: str = "Asia/Riyadh", seed: int = 12) -> dict[str, int]:
    """Write the usage history of [start, end): about ``sessions_per_day`` sessions a day over
    the registered gateways (or ``gateways`` made-up ones; 2,740 a day is a million a year).
    Returns row counts. Run it once per store and period: it adds, it does not replace. The
    days written are rolled up (`reporting.usage_rollup.refresh`) before it returns."""
    rng = random.Random(seed)
    fleet = _gateways(store, gateways, secret_box)
    aps_at: dict[str, list[str]] = defaultdict(list)
    for ap in inventory.list_aps(store):
        aps_at[ap["site"]].append(ap["name"])
    weights = [rng.uniform(0.5, 1.5) for _ in fleet]
    share = [w / sum(weights) for w in weights]
    cumulative = list(_cumulate(HOUR_WEIGHTS))
    written = {"sessions": 0, "counters": 0}
    day = local(start, tz).date()
    while day_start(day, tz) < end:
        lo, hi = max(start, day_start(day, tz)), min(end, day_start(day + dt.timedelta(days=1), tz))
        # Busier on the weekend; sessions_per_day stays the mean over a week.
        factor = (WEEKEND_FACTOR if day.isoweekday() in WEEKEND else 1.0) / (
            (7 - len(WEEKEND) + len(WEEKEND) * WEEKEND_FACTOR) / 7)
        month = day.strftime("%Y-%m")
        sessions: list[tuple] = []
        online: dict[tuple[float, str], int] = defaultdict(int)
        methods: dict[tuple[float, str], int] = defaultdict(int)
        for (gateway_id, site), part in zip(fleet, share, strict=True):
            expected = sessions_per_day * part * factor * (hi - lo) / 86400.0
            count = max(0, round(rng.gauss(expected, math.sqrt(expected) if expected else 0)))
            pool = max(10, int(sessions_per_day * part * 3))
            aps: list[str | None] = list(aps_at.get(site, ())) or [None]
            for _ in range(count):
                hour = bisect.bisect(cumulative, rng.random() * cumulative[-1])
                at = day_start(day, tz) + hour * 3600 + rng.random() * 3600
                if not lo <= at < hi:
                    continue
                length = min(SESSION_S, rng.lognormvariate(7.3, 0.75))  # median ~25 min
                down = int(min(400e6, length * rng.lognormvariate(9.4, 1.0)))
                device = (rng.randrange(pool // 10) if rng.random() < REGULAR_SHARE
                          else pool + rng.randrange(pool * 20))
                method = "terms" if rng.random() < 0.7 else "sms"
                sessions.append((
                    gateway_id, rng.choice(aps), _visitor(seed, month, gateway_id, device),
                    method, "ar" if rng.random() < 0.8 else "en", at, at + length,
                    "expired" if length >= SESSION_S else rng.choice(("logout", "idle", "idle")),
                    down, int(down * rng.uniform(0.05, 0.2))))
                key = (portal_usage.hour_of(at), site)
                online[key] += 1
                methods[key] += method == "sms"
        counters = list(_funnel(rng, online, methods))
        portal_usage.record_history(store, sessions, counters)
        written["sessions"] += len(sessions)
        written["counters"] += len(counters)
        day += dt.timedelta(days=1)
    written["days_rolled_up"] = usage_rollup.refresh(store, tz, now(), since=start)
    return written


def _funnel(rng: random.Random, online: dict[tuple[float, str], int],
            sms: dict[tuple[float, str], int]):
    """The funnel and failure counters of each site's hour, from the sessions that went online."""
    for (hour, site), n in sorted(online.items()):
        step = n + _draw(rng, n * rng.uniform(0.02, 0.08))
        portal = step + _draw(rng, step * rng.uniform(0.15, 0.35))
        redirect = portal + _draw(rng, portal * rng.uniform(0.10, 0.25))
        for item, value in (("redirect", redirect), ("portal", portal), ("step", step),
                            ("online", n)):
            yield hour, site, "funnel", item, value
        for code, rate in FAILURE_RATES.items():
            base = sms[hour, site] if code.startswith(("code", "sms")) else step
            if failures := _draw(rng, base * rate):
                yield hour, site, "failure", code, failures
        for code, rate in LINK_FAILURE_RATES.items():
            if failures := _draw(rng, redirect * rate):
                yield hour, site, "failure", code, failures


def _draw(rng: random.Random, expected: float) -> int:
    """A whole count whose mean is ``expected`` (stochastic rounding)."""
    whole = math.floor(expected)
    return whole + (rng.random() < expected - whole)


def _visitor(seed: int, month: str, gateway_id: str, device: int) -> str:
    """A made-up visitor id, renewed each month like the portal's keyed hashes."""
    return hashlib.blake2b(f"{seed}|{month}|{gateway_id}|{device}".encode(),
                           digest_size=16).hexdigest()


def _cumulate(values: Sequence[float]):
    total = 0.0
    for value in values:
        total += value
        yield total


__all__ = ["seed"]
