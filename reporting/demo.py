"""The demo's month of KPI history (`make run`): every area's generator over the 30 days before
the first start, once per store (a marker in ``reporting_markers``), in seconds, so every
Reports page has something to show from the first minute."""

from __future__ import annotations

import logging
import sqlite3
import time

from captive_portal.usage import gateway_sites
from core.config import Config, MunicipalityConfig
from core.inventory import list_sites
from core.secrets import SecretBox
from core.store import Store
from reporting.history import availability, backhaul, service, usage

log = logging.getLogger(__name__)

MARKER = "demo_history"
DAY = 86400.0
#: The demo's scale: a busy month for a handful of parks, quick to write.
SESSIONS_PER_DAY = 400.0
REPORTS_PER_DAY = 30.0


def seed_history(store: Store, config: Config, box: SecretBox, *, now: float | None = None,
                 days: int = 30) -> dict[str, int] | None:
    """Write ``days`` of history before ``now`` unless this store has it already; returns
    what was written, or None when it had been done."""
    now = time.time() if now is None else now
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO reporting_markers (name, at) VALUES (?, ?)", (MARKER, now))
    except sqlite3.IntegrityError:
        return None
    start, tz = now - days * DAY, config.section(MunicipalityConfig).timezone
    try:
        written = {f"availability.{k}": v for k, v in
                   availability.seed(store, start=start, end=now).items()}
        written |= {f"backhaul.{k}": v for k, v in
                    backhaul.seed(store, start=start, end=now).items()}
        # The demo's gateways are simulated; without a registered one, one a site is made up.
        gateways = None if gateway_sites(store) else max(1, len(list_sites(store)))
        written |= {f"usage.{k}": v for k, v in usage.seed(
            store, start=start, end=now, sessions_per_day=SESSIONS_PER_DAY, gateways=gateways,
            secret_box=box, tz=tz).items()}
        written["service.reports"] = service.replay(store, config, start, now,
                                                    per_day=REPORTS_PER_DAY, now=now)
    except BaseException:
        with store.transaction() as conn:  # let the next start try again
            conn.execute("DELETE FROM reporting_markers WHERE name = ?", (MARKER,))
        raise
    log.info("demo: %d days of KPI history written (%s)", days, written)
    return written
