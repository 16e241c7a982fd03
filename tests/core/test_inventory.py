import pytest

from core import audit, inventory
from core.inventory import InventoryError, NotFound

PARK = {"slug": "kap", "name_ar": "متنزه الملك عبدالله البيئي",
        "name_en": "King Abdullah Environmental Park", "kind": "park", "lat": 25.38, "lon": 49.58}


@pytest.fixture
def site(store):
    return inventory.add_site(store, PARK, "test")


def ap(**over):
    return {"name": "KAP-AP-01", "mac": "02:00:00:00:00:01", "mgmt_ip": "127.0.1.1",
            "site": "kap"} | over


def count(store, table):
    return store.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_site_round_trip_keeps_arabic_names(store, site):
    got = inventory.get_site(store, "kap")
    assert got["name_ar"] == PARK["name_ar"] and got["kind"] == "park"
    assert inventory.list_sites(store)[0]["ap_count"] == 0


@pytest.mark.parametrize("change, field", [
    ({"slug": "Bad Slug"}, "slug"), ({"kind": "stadium"}, "kind"), ({"lat": 95}, "lat"),
    ({"lon": None}, "lon"), ({"name_ar": ""}, "name_ar"), ({"colour": "red"}, "colour"),
])
def test_bad_site_is_refused_and_nothing_written(store, change, field):
    with pytest.raises(InventoryError) as err:
        inventory.add_site(store, PARK | change, "test")
    assert err.value.field == field
    assert count(store, "sites") == 0 and count(store, "audit_log") == 0


def test_ap_add_normalises_and_audits_without_secrets(store, secrets, site):
    row = inventory.add_ap(store, secrets, ap(mac="02-00-00-00-00-01", snmp_community="s3cr3t-c"),
                           "test")
    assert row["mac"] == "02:00:00:00:00:01" and row["snmp_community_set"] is True
    assert "s3cr3t-c" not in repr(row)
    stored = store.conn.execute("SELECT snmp_community_enc FROM aps").fetchone()[0]
    assert "s3cr3t-c" not in stored
    assert inventory.ap_secrets(store, secrets, "KAP-AP-01")["snmp_community"] == "s3cr3t-c"
    entry = audit.entries(store)[0]
    assert entry["action"] == "ap.create" and entry["actor"] == "test"
    assert "s3cr3t-c" not in repr(entry)


@pytest.mark.parametrize("change, code, field", [
    ({"mac": "02:00:00:00:00:99"}, "duplicate", "mgmt_ip"),
    ({"mgmt_ip": "127.0.1.9"}, "duplicate", "mac"),
    ({"mac": "02:00:00:00:00:zz", "mgmt_ip": "127.0.1.9"}, "invalid_mac", "mac"),
    ({"mac": "01:00:5e:00:00:01", "mgmt_ip": "127.0.1.9"}, "invalid_mac", "mac"),
    ({"mac": "02:00:00:00:00:98", "mgmt_ip": "127.0.1.300"}, "invalid_ip", "mgmt_ip"),
    ({"mac": "02:00:00:00:00:98", "mgmt_ip": "127.0.1.9", "site": "nope"}, "unknown_site", "site"),
    ({"mac": "02:00:00:00:00:98", "mgmt_ip": "127.0.1.9", "platform": "toaster"},
     "unknown_platform", "platform"),
    ({"mac": "02:00:00:00:00:98", "mgmt_ip": "127.0.1.9", "snmp_version": "3",
      "snmp_user": "u", "snmp_auth_key": "short", "snmp_priv_key": "longenough"},
     "invalid_field", "snmp_auth_key"),
])
def test_bad_ap_is_refused_and_nothing_written(store, secrets, site, change, code, field):
    inventory.add_ap(store, secrets, ap(), "test")
    before = count(store, "audit_log")
    with pytest.raises(InventoryError) as err:
        inventory.add_ap(store, secrets, ap(name="KAP-AP-02") | change, "test")
    assert (err.value.code, err.value.field) == (code, field)
    assert count(store, "aps") == 1 and count(store, "audit_log") == before
    if "platform" in change:
        assert "openwrt" in err.value.message  # lists the supported ones


def test_lookup_by_name_id_mac_and_ip(store, secrets, site):
    row = inventory.add_ap(store, secrets, ap(), "test")
    for ref in ("KAP-AP-01", row["id"], "02-00-00-00-00-01", "127.0.1.1"):
        assert inventory.get_ap(store, ref)["id"] == row["id"]
    with pytest.raises(NotFound):
        inventory.get_ap(store, "KAP-AP-99")


def test_update_keeps_secrets_not_given_and_v3_switch(store, secrets, site):
    inventory.add_ap(store, secrets, ap(ssh_username="root", ssh_password="ssh-pass-1"), "test")
    inventory.update_ap(store, secrets, "KAP-AP-01", {"capacity": 40}, "test")
    assert inventory.ap_secrets(store, secrets, "KAP-AP-01")["ssh_password"] == "ssh-pass-1"
    row = inventory.update_ap(store, secrets, "KAP-AP-01", {
        "snmp_version": "3", "snmp_user": "oasis", "snmp_auth_key": "auth-pass-1",
        "snmp_priv_key": "priv-pass-1"}, "test")
    assert row["snmp_version"] == "3" and row["snmp_community_set"] is False
    assert row["capacity"] == 40


def test_site_with_aps_cannot_be_removed(store, secrets, site):
    inventory.add_ap(store, secrets, ap(), "test")
    with pytest.raises(InventoryError, match="still has 1 AP"):
        inventory.remove_site(store, "kap", "test")
    inventory.remove_ap(store, "KAP-AP-01", "test")
    inventory.remove_site(store, "kap", "test")
    assert count(store, "sites") == 0


def test_import_is_all_or_nothing_with_every_error_reported(store, secrets, site):
    rows = [ap(name=f"AP-{i}", mac=f"02:00:00:00:01:{i:02x}", mgmt_ip=f"127.0.2.{i}")
            for i in range(1, 6)]
    rows.append(ap(name="AP-6", mac="02:00:00:00:01:01", mgmt_ip="127.0.2.6"))  # repeats row 1
    rows.append(ap(name="AP-7", mac="02:00:00:00:01:07", mgmt_ip="nope"))
    ticks = []
    result = inventory.import_aps(store, secrets, rows, "test", progress=ticks.append)
    assert [(e["row"], e["field"]) for e in result.errors] == [(6, "mac"), (7, "mgmt_ip")]
    assert count(store, "aps") == 0 and len(ticks) == len(rows)
    result = inventory.import_aps(store, secrets, rows[:5], "test")
    assert result.created == [f"AP-{i}" for i in range(1, 6)] and count(store, "aps") == 5


def test_an_ap_has_a_location_both_or_neither(store, secrets, site):
    row = inventory.add_ap(store, secrets, ap(lat="25.3812", lon="49.5861"), "test")
    assert (row["lat"], row["lon"]) == (25.3812, 49.5861)
    for half, field in (({"lat": "", "lon": "49.6"}, "lat"), ({"lat": "91", "lon": "49.6"}, "lat"),
                        ({"lat": "25.4", "lon": "east"}, "lon")):
        with pytest.raises(InventoryError) as err:
            inventory.update_ap(store, secrets, "KAP-AP-01", half, "test")
        assert err.value.field == field
    cleared = inventory.update_ap(store, secrets, "KAP-AP-01", {"lat": "", "lon": ""}, "test")
    assert (cleared["lat"], cleared["lon"]) == (None, None)
