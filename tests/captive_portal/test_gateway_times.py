"""A gateway's registration time is REAL unix seconds like the portal's other times; a store from
the release that kept it as ISO-8601 text upgrades with its gateways and their sessions."""

import sqlite3
import time

from captive_portal.gateways import gateway_key, register_gateway
from core.store import Store


def test_a_store_from_the_previous_release_gets_unix_seconds(store_before):
    path = store_before("portal", "gateway_unix_times")
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("INSERT INTO portal_gateways (id, name, hmac_key_enc, created_at, site) VALUES "
                "('gw1', 'North gate', 'sealed', '2026-11-01T08:30:00+00:00', NULL)")
    raw.execute("INSERT INTO portal_sessions (gateway_id, mac, ip, method, locale, state, "
                "started_at, expires_at) VALUES ('gw1', '02:00:00:00:00:01', '10.1.0.2', "
                "'terms', 'ar', 'active', 1793521800.5, 1793525400.5)")
    raw.commit()
    raw.close()
    store = Store(path)
    row = store.conn.execute("SELECT id, name, hmac_key_enc, site, created_at, typeof(created_at) "
                             "FROM portal_gateways").fetchone()
    assert row == ("gw1", "North gate", "sealed", None, 1793521800.0, "real")
    columns = {r[1]: (r[2], r[3]) for r in store.conn.execute("PRAGMA table_info(portal_gateways)")}
    assert columns["created_at"] == ("REAL", 1)   # still NOT NULL
    assert store.conn.execute("SELECT gateway_id FROM portal_sessions").fetchall() == [("gw1",)]
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    store.close()


def test_registering_a_gateway_records_unix_seconds(store, secrets):
    before = time.time()
    key = register_gateway(store, secrets, "gw2", "South gate")
    created, kind = store.conn.execute("SELECT created_at, typeof(created_at) FROM "
                                       "portal_gateways WHERE id = 'gw2'").fetchone()
    assert kind == "real" and before <= created <= time.time()
    assert gateway_key(store, secrets, "gw2") == key.encode()
