"""Maintenance windows: what a window covers, when, and what it refuses."""

import pytest

from core import audit, inventory, maintenance
from core.localtime import day_start, show


@pytest.fixture
def fleet(store):
    site = inventory.add_site(store, {"slug": "hofuf-park", "name_ar": "منتزه الهفوف",
                                      "name_en": "Hofuf Park", "kind": "park"}, "noc")
    other = inventory.add_site(store, {"slug": "mubarraz-walk", "name_ar": "ممشى المبرز",
                                       "name_en": "Mubarraz Walkway", "kind": "walkway"}, "noc")
    return site, other


def test_a_site_window_covers_its_aps_only_inside_its_time(store, fleet):
    site, other = fleet
    window = maintenance.add(store, starts_at=1000.0, ends_at=2000.0, actor="noc",
                             reason="firmware", site_id=site["id"])
    assert window.covers(ap_id=7, site_id=site["id"], at=1000.0)
    assert not window.covers(ap_id=7, site_id=site["id"], at=2000.0)
    assert not window.covers(ap_id=7, site_id=other["id"], at=1500.0)
    with store.transaction() as conn:
        assert maintenance.covering(conn, 7, site["id"], 1999.0)
        assert not maintenance.covering(conn, 7, other["id"], 1500.0)
    assert [w.id for w in maintenance.overlapping(store, 1900.0, 5000.0)] == [window.id]
    assert maintenance.overlapping(store, 2000.0, 5000.0) == []
    assert audit.entries(store, action_prefix="maintenance.")[0]["actor"] == "noc"


def test_a_network_window_covers_every_ap(store, fleet):
    window = maintenance.add(store, starts_at=0.0, ends_at=10.0, actor="noc")
    assert window.covers(ap_id=1, site_id=fleet[1]["id"], at=5.0)
    assert maintenance.active(store, at=5.0) == [window]
    assert maintenance.remove(store, window.id, actor="noc")
    assert maintenance.active(store, at=5.0) == []
    assert not maintenance.remove(store, window.id, actor="noc")


@pytest.mark.parametrize("kwargs, code", [
    ({"starts_at": 10.0, "ends_at": 10.0}, "maintenance.ends_before_start"),
    ({"starts_at": 0.0, "ends_at": 10.0, "ap_id": 1, "site_id": 1}, "maintenance.ap_and_site"),
])
def test_refused_windows_name_the_problem(store, kwargs, code):
    with pytest.raises(maintenance.MaintenanceError) as refused:
        maintenance.add(store, actor="noc", **kwargs)
    assert refused.value.code == code
    assert maintenance.overlapping(store, -1e12, 1e12) == []


def test_riyadh_local_time_has_no_daylight_saving():
    import datetime as dt
    summer = day_start(dt.date(2026, 7, 1), "Asia/Riyadh")
    winter = day_start(dt.date(2026, 1, 1), "Asia/Riyadh")
    assert show(summer, "UTC") == "2026-06-30 21:00"
    assert show(winter, "UTC") == "2025-12-31 21:00"
    assert show(None, "Asia/Riyadh") == ""
