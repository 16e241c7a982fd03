"""APs written straight into a fresh store, each with its own client capacity (or none, for
the default), for the alert and alert-schema tests."""

from __future__ import annotations

from core.store import now


def add_aps(store, *names_capacities) -> list[int]:
    conn = store.conn
    at = now()  # the store keeps REAL unix seconds
    site_id = conn.execute(
        "INSERT INTO sites (slug, name_ar, name_en, kind, created_at, updated_at) "
        "VALUES ('kap', 'حديقة', 'Park', 'park', ?, ?) RETURNING id", (at, at)).fetchone()[0]
    ids = []
    for n, (name, capacity) in enumerate(names_capacities, start=1):
        ids.append(conn.execute(
            "INSERT INTO aps (name, mac, mgmt_ip, platform, site_id, capacity, snmp_version, "
            "created_at, updated_at) VALUES (?, ?, ?, 'openwrt', ?, ?, '2c', ?, ?) RETURNING id",
            (name, f"02:00:00:00:00:{n:02x}", f"127.0.1.{n}", site_id, capacity, at,
             at)).fetchone()[0])
    return ids
