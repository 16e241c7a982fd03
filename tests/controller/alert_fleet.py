"""APs written straight into a fresh store, each with its own client capacity (or none, for
the default), for the alert and alert-schema tests."""

from __future__ import annotations


def add_aps(store, *names_capacities) -> list[int]:
    conn = store.conn
    conn.execute("INSERT INTO sites (slug, name_ar, name_en, kind, created_at, updated_at) "
                 "VALUES ('kap', 'حديقة', 'Park', 'park', 'now', 'now')")
    ids = []
    for n, (name, capacity) in enumerate(names_capacities, start=1):
        ids.append(conn.execute(
            "INSERT INTO aps (name, mac, mgmt_ip, platform, site_id, capacity, snmp_version, "
            "created_at, updated_at) VALUES (?, ?, ?, 'openwrt', 1, ?, '2c', 'now', 'now')",
            (name, f"02:00:00:00:00:{n:02x}", f"127.0.1.{n}", capacity)).lastrowid)
    return ids
