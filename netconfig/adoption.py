"""Adoption: an AP the inventory does not know announces itself and waits for an engineer.

`announce` is what the trap receiver (coldStart from an unknown source) and the MQTT hello
handler call. It records the AP as *pending* only when its address is inside the configured
adoption networks, so a stray packet from elsewhere cannot fill the list. `adopt` turns a pending
AP into an inventory AP and pushes its site's template at once; the push follows the same rules as
any other (checks, rollback, audit).
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from typing import Protocol

from core import audit, inventory
from core.inventory import InventoryError, NotFound
from core.secrets import SecretBox
from core.store import Store, now, with_iso
from netconfig.platforms import PLATFORMS
from netconfig.push import Outcome
from netconfig.settings import ProvisioningConfig

log = logging.getLogger(__name__)
SOURCES = ("trap", "mqtt")
#: The times of a pending AP's row (unix seconds).
TIME_COLUMNS = ("first_seen_at", "last_seen_at")


class Pusher(Protocol):
    """What adoption pushes the new AP's template with: a `netconfig.push.Provisioner`, or
    something that queues the push as a job instead."""

    @property
    def store(self) -> Store: ...

    def push(self, ap_id: int, actor: str) -> Outcome: ...


def announce(store: Store, settings: ProvisioningConfig, *, mgmt_ip: str, source: str,
             mac: str | None = None, platform: str | None = None,
             detail: Mapping | None = None) -> dict | None:
    """Record an unknown AP's hello; returns the pending row, or None when ignored (known AP,
    address outside the adoption networks, bad input, or an engineer chose to ignore it).

    A coldStart trap gives only the address (``mac=None``); an MQTT hello gives both. A row
    found by MAC follows the AP to a new address; an address taken over by another AP replaces
    the stale row that had it.
    """
    try:
        mgmt_ip = inventory.normalise_ip(mgmt_ip)
        mac = inventory.normalise_mac(mac) if mac else None
    except InventoryError as exc:
        log.info("hello ignored: %s", exc.message)
        return None
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    if not any(ipaddress.ip_address(mgmt_ip) in net for net in settings.networks()):
        log.info("hello from %s ignored: outside the adoption networks", mgmt_ip)
        return None
    if platform is not None and platform not in PLATFORMS:
        platform = None
    seen_at = now()
    text = json.dumps(dict(detail or {}), ensure_ascii=False)
    with store.transaction() as conn:
        if inventory.ap_known(conn, mac, mgmt_ip):
            return None
        row = conn.execute("SELECT id FROM pending_aps WHERE mac = ?", (mac,)).fetchone() \
            if mac else None
        row = row or conn.execute("SELECT id FROM pending_aps WHERE mgmt_ip = ? AND (mac IS NULL "
                                  "OR mac = ? OR ? IS NULL)", (mgmt_ip, mac, mac)).fetchone()
        conn.execute("DELETE FROM pending_aps WHERE mgmt_ip = ? AND id IS NOT ?",
                     (mgmt_ip, row[0] if row else None))
        if row:
            conn.execute("UPDATE pending_aps SET mac = coalesce(?, mac), mgmt_ip = ?, platform = "
                         "coalesce(?, platform), source = ?, detail = ?, last_seen_at = ? "
                         "WHERE id = ?", (mac, mgmt_ip, platform, source, text, seen_at, row[0]))
            pending_id = row[0]
        else:
            pending_id = conn.execute(
                "INSERT INTO pending_aps (mac, mgmt_ip, platform, source, detail, first_seen_at, "
                "last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (mac, mgmt_ip, platform, source, text, seen_at, seen_at)).lastrowid
    found = get_pending(store, pending_id)
    return found if found["status"] == "pending" else None


def get_pending(store: Store, ref: object) -> dict:
    """A pending AP by id, MAC or address."""
    text = str(ref).strip()
    value: int | str
    pending_id = inventory.row_id(ref)  # an id beyond 64 bits is one no row has, not an overflow
    if pending_id is not None:
        column, value = "id", pending_id
    else:
        try:
            column, value = "mac", inventory.normalise_mac(text)
        except InventoryError:
            column, value = "mgmt_ip", inventory.normalise_ip(text)
    rows = list(store.db.query(f"SELECT * FROM pending_aps WHERE {column} = ?", [value]))
    if not rows:
        raise NotFound("pending AP", ref)
    return rows[0]


def shown(row: dict) -> dict:
    """A pending AP's row as the API, pages and CLI show it: its times as ISO-8601 text."""
    return with_iso(row, *TIME_COLUMNS)


def pending(store: Store) -> list[dict]:
    return list(store.db.query("SELECT * FROM pending_aps WHERE status = 'pending' "
                               "ORDER BY last_seen_at DESC"))


def ignore(store: Store, ref: object, actor: str) -> None:
    row = get_pending(store, ref)
    with store.transaction() as conn:
        conn.execute("UPDATE pending_aps SET status = 'ignored' WHERE id = ?", (row["id"],))
        audit.record(conn, actor, "ap.adopt.ignore", "pending_ap", row["mac"] or row["mgmt_ip"],
                     None)


def adopt(prov: Pusher, box: SecretBox, ref: object, data: Mapping,
          actor: str) -> tuple[dict, Outcome]:
    """Add the pending AP to the inventory (``data``: name, site, credentials...) and push its
    site's template. Returns the new AP and the push outcome."""
    store = prov.store
    row = get_pending(store, ref)
    if row["status"] != "pending":
        raise InventoryError("not_pending", f"{row['mac'] or row['mgmt_ip']} is {row['status']}, "
                             "not pending", "mac")
    fields = {"platform": row["platform"] or "openwrt"} | dict(data)
    # A trap-announced AP has no MAC on record: the engineer gives it (from the label).
    fields |= {"mac": row["mac"] or data.get("mac"), "mgmt_ip": row["mgmt_ip"]}
    ap = inventory.add_ap(store, box, fields, actor)
    with store.transaction() as conn:
        conn.execute("UPDATE pending_aps SET status = 'adopted', adopted_ap_id = ? WHERE id = ?",
                     (ap["id"], row["id"]))
        audit.record(conn, actor, "ap.adopt", "ap", ap["name"],
                     {"mac": ap["mac"], "mgmt_ip": row["mgmt_ip"], "source": row["source"]})
    outcome = prov.push(ap["id"], actor)
    with store.transaction() as conn:
        audit.record(conn, actor, "ap.adopt.push", "ap", ap["name"],
                     {"status": outcome.status, "stage": outcome.stage,
                      "message": outcome.message, "diff": outcome.diff})
    return ap, outcome
