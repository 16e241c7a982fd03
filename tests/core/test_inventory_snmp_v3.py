"""SNMPv3 settings of an AP in the inventory: every protocol the fast path speaks, the context
name, the expected engine ID, and a store from before migration core 0070 upgraded in place."""

from __future__ import annotations

import sqlite3

import pytest

from core import inventory
from core.inventory import AUTH_PROTOS, PRIV_PROTOS, InventoryError
from core.snmp_usm import AUTH_PROTOCOLS, PRIV_PROTOCOLS
from core.store import Store

PARK = {"slug": "kap", "name_ar": "متنزه الملك عبدالله البيئي",
        "name_en": "King Abdullah Environmental Park", "kind": "park", "lat": 25.38, "lon": 49.58}


def v3_ap(**over):
    return {"name": "KAP-AP-01", "mac": "02:00:00:00:00:01", "mgmt_ip": "127.0.1.1",
            "site": "kap", "snmp_version": "3", "snmp_user": "ops",
            "snmp_auth_key": "auth-pass-phrase", "snmp_priv_key": "priv-pass-phrase"} | over


@pytest.fixture
def site(store):
    return inventory.add_site(store, PARK, "test")


def test_the_store_accepts_every_protocol_the_fast_path_speaks(store, secrets, site):
    assert set(AUTH_PROTOS) == set(AUTH_PROTOCOLS) and set(PRIV_PROTOS) == set(PRIV_PROTOCOLS)
    for n, (auth, priv) in enumerate([("SHA224", "AES192C"), ("SHA384", "AES256C")], 1):
        row = inventory.add_ap(store, secrets, v3_ap(
            name=f"KAP-AP-0{n}", mac=f"02:00:00:00:00:0{n}", mgmt_ip=f"127.0.1.{n}",
            snmp_auth_proto=auth.lower(), snmp_priv_proto=priv), "test")
        assert (row["snmp_auth_proto"], row["snmp_priv_proto"]) == (auth, priv)


def test_context_and_engine_id_are_kept_normalised_and_checked(store, secrets, site):
    row = inventory.add_ap(store, secrets, v3_ap(snmp_context="park-north",
                                                 snmp_engine_id="0x80:00:1F:88:03:02:4f:45"),
                           "test")
    assert (row["snmp_context"], row["snmp_engine_id"]) == ("park-north", "80001f8803024f45")
    polled = inventory.aps_to_poll(store)[0]
    assert (polled["snmp_context"], polled["snmp_engine_id"]) == ("park-north", "80001f8803024f45")
    for bad in ("80001f88", "80001f8803024f4", "zz001f8803024f45", "80" * 33):
        with pytest.raises(InventoryError) as err:
            inventory.update_ap(store, secrets, "KAP-AP-01", {"snmp_engine_id": bad}, "test")
        assert err.value.field == "snmp_engine_id"
    with pytest.raises(InventoryError) as err:      # 20 Arabic letters are 40 octets
        inventory.update_ap(store, secrets, "KAP-AP-01", {"snmp_context": "ح" * 20}, "test")
    assert err.value.field == "snmp_context" and "octets" in str(err.value)
    moved = inventory.update_ap(store, secrets, "KAP-AP-01", {"snmp_version": "2c"}, "test")
    assert (moved["snmp_context"], moved["snmp_engine_id"], moved["snmp_user"]) == \
        (None, None, None)


def test_the_database_itself_refuses_unknown_protocols_and_bad_engine_ids(store, secrets, site):
    inventory.add_ap(store, secrets, v3_ap(), "test")
    for column, value in (("snmp_auth_proto", "SHA1"), ("snmp_priv_proto", "3DES"),
                          ("snmp_engine_id", "80001F88030000"), ("snmp_context", "x" * 33)):
        with pytest.raises(sqlite3.IntegrityError):
            store.conn.execute(f"UPDATE aps SET {column} = ?", (value,))


def test_a_store_from_before_0070_keeps_its_aps_and_takes_the_new_protocols(store_before,
                                                                              tmp_path):
    path = store_before("core", "snmp_v3")
    old = sqlite3.connect(path)
    old.execute("INSERT INTO sites (id, slug, name_ar, name_en, kind, created_at, updated_at) "
                "VALUES (1, 'kap', 'م', 'KAP', 'park', 1, 1)")
    old.execute("INSERT INTO aps (id, name, mac, mgmt_ip, platform, site_id, snmp_version, "
                "snmp_user, snmp_auth_proto, snmp_priv_proto, created_at, updated_at) VALUES "
                "(1, 'AP-1', '02:00:00:00:00:01', '127.0.1.1', 'openwrt', 1, '3', 'ops', "
                "'SHA512', 'AES256', 1, 1), (2, 'AP-2', '02:00:00:00:00:02', '127.0.1.2', "
                "'openwrt', 1, '2c', NULL, NULL, NULL, 1, 1)")
    with pytest.raises(sqlite3.IntegrityError):
        old.execute("UPDATE aps SET snmp_auth_proto = 'SHA384' WHERE id = 1")
    old.commit()
    old.close()
    upgraded, fresh = Store(path), Store(tmp_path / "fresh.db")
    rows = upgraded.conn.execute("SELECT id, snmp_auth_proto, snmp_priv_proto, snmp_context, "
                                 "snmp_engine_id FROM aps ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(1, "SHA512", "AES256", "", None),
                                        (2, None, None, None, None)]
    upgraded.conn.execute("UPDATE aps SET snmp_auth_proto = 'SHA384', "
                          "snmp_priv_proto = 'AES256C' WHERE id = 1")
    columns = "SELECT name, type FROM pragma_table_info('aps') ORDER BY cid"
    assert upgraded.conn.execute(columns).fetchall() == fresh.conn.execute(columns).fetchall()
    upgraded.close()
    fresh.close()
