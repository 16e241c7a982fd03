"""The numbers of the dashboard, computed once for the page, the API and /metrics alike.

The inventory says which APs exist; the snapshot says how they are. An AP the poller has not
reached yet is shown as "unknown", never dropped.
"""

from __future__ import annotations

import dataclasses
import time

from controller.monitoring import reports_health
from controller.monitoring.published import SnapshotReader
from controller.monitoring.snapshot import ApState, ApStatus
from controller.web import readers
from core import inventory
from core.store import Store

STATES = tuple(s.value for s in ApState)
#: Worst first, so that an engineer's eye lands on trouble.
_STATE_ORDER = {"down": 0, "auth_failed": 1, "degraded": 2, "unknown": 3, "up": 4}


def status_dict(status: ApStatus | None) -> dict:
    """A snapshot entry as JSON-ready values (state as its name)."""
    if status is None:
        return {"state": ApState.UNKNOWN.value, "clients": None, "interfaces": []}
    data = dataclasses.asdict(status)
    data["state"] = status.state.value
    data["interfaces"] = [dataclasses.asdict(i) for i in status.interfaces]
    return data


def ap_row(ap: dict, status: ApStatus | None, has_alert: bool = False) -> dict:
    """One line of the AP table: inventory fields plus what the poller last saw."""
    return {
        "id": ap["id"], "name": ap["name"], "site": ap["site"], "site_name_en": ap["site_name_en"],
        "site_name_ar": ap["site_name_ar"], "platform": ap["platform"], "mgmt_ip": ap["mgmt_ip"],
        "mac": ap["mac"],
        "state": status.state.value if status else ApState.UNKNOWN.value,
        "clients": status.clients if status else None,
        # Download / upload as the AP's visitors see them: its uplink's in / out.
        "in_bps": status.in_bps if status else None,
        "out_bps": status.out_bps if status else None,
        "radio_in_bps": status.radio_in_bps if status else None,
        "radio_out_bps": status.radio_out_bps if status else None,
        "links_down": list(status.links_down) if status else [],
        "down_since": status.down_since if status else None,
        "errors_ps": status.errors_ps if status else None,
        "uptime_s": status.uptime_s if status else None,
        "polled_at": status.polled_at if status else None,
        "answered_at": status.answered_at if status else None,
        "open_alerts": has_alert,
    }


def ap_rows(store: Store, snapshot: SnapshotReader, site: object = None) -> list[dict]:
    """Every AP (of ``site``) with its status: open alerts first, then worst state, then name."""
    alerting = readers.open_alert_aps(store)
    rows = [ap_row(ap, snapshot.get(ap["id"]), ap["id"] in alerting)
            for ap in inventory.list_aps(store, site)]
    rows.sort(key=lambda r: (not r["open_alerts"], _STATE_ORDER.get(r["state"], 9), r["name"]))
    return rows


def _add(total: float | None, value: float | None) -> float | None:
    if value is None:
        return total
    return (total or 0) + value


def _summary(rows: list[dict]) -> dict:
    states = dict.fromkeys(STATES, 0)
    clients: float | None = None
    in_bps: float | None = None
    out_bps: float | None = None
    clients_unknown = 0
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
        if row["clients"] is None:
            clients_unknown += 1
        clients = _add(clients, row["clients"])
        in_bps = _add(in_bps, row["in_bps"])
        out_bps = _add(out_bps, row["out_bps"])
    return {"aps": len(rows), "states": states, "clients": clients,
            "clients_unknown": clients_unknown, "in_bps": in_bps, "out_bps": out_bps}


def dashboard(store: Store, snapshot: SnapshotReader) -> dict:
    """Sites with AP counts by state, clients and traffic; totals; the AP table; poller health."""
    rows = ap_rows(store, snapshot)
    sites = []
    for site in inventory.list_sites(store):
        mine = [r for r in rows if r["site"] == site["slug"]]
        sites.append({"slug": site["slug"], "name_en": site["name_en"], "name_ar": site["name_ar"],
                      "kind": site["kind"], **_summary(mine)})
    cycle = snapshot.last_cycle
    return {
        "totals": _summary(rows),
        "sites": sites,
        "aps": rows,
        "alerts_open": readers.open_alert_counts(store),
        "pipeline": reports_health.pipeline_health(store, time.time()).as_dict(),
        "poller": {
            "cycles": snapshot.cycles,
            "last_cycle": dataclasses.asdict(cycle) if cycle else None,
            "traps_received": snapshot.traps_received,
            "traps_unknown_source": snapshot.traps_unknown_source,
            # The poller processes sharing the APs, as they published (none listed: this
            # process's own poller alone).
            "pollers": [{"holder": p.holder, "live": p.live, "aps": p.aps,
                         "cycles": p.cycles, "published_at": p.published_at,
                         "last_cycle": dataclasses.asdict(p.last_cycle) if p.last_cycle
                         else None} for p in snapshot.pollers],
        },
    }
