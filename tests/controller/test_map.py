"""The map page: sites and APs coloured by state, Leaflet from our own static files, the tile
server from [admin] map_tiles_url (allowed by the page's policy) or none at all."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from controller.monitoring.snapshot import ApState
from controller.settings import AdminConfig
from core import inventory
from tests.controller.web_harness import add_user, build_app, login, post_form, status
from tests.fleet import add_ap

STATIC = Path(__file__).resolve().parents[2] / "controller" / "web" / "static"


@pytest.fixture
def fleet(store, secrets, snapshot):
    inventory.add_site(store, {"slug": "kap", "name_en": "King Abdullah Park",
                               "name_ar": "منتزه الملك عبدالله", "kind": "park",
                               "lat": 25.3810, "lon": 49.5860}, "test")
    placed = add_ap(store, secrets, 1, site="kap", lat=25.3815, lon=49.5866)
    at_site = add_ap(store, secrets, 2, site="kap")
    snapshot.put(status(placed))
    snapshot.put(status(at_site, state=ApState.DOWN))
    add_user(store, "vic", "viewer")
    return placed, at_site


def _page(config, secrets, snapshot, **admin):
    for key, value in admin.items():
        setattr(config.admin, key, value)
    client = build_app(config, secrets, snapshot).test_client()
    login(client, "vic")
    return client.get("/map/")


def test_sites_and_aps_are_listed_by_state_with_no_tile_server(config, secrets, snapshot, fleet):
    page = _page(config, secrets, snapshot)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = re.findall(r'data-kind="ap" data-name="([^"]+)" data-site="kap" data-state="(\w+)"',
                      html)
    assert sorted(rows) == [("ap-001", "up"), ("ap-002", "down")]
    assert 'data-lat="25.3815" data-lon="49.5866"' in html          # its own position
    assert re.search(r'data-name="ap-002".*?data-lat="25.381" data-lon="49.586".*?'
                     r'data-at-site="1"', html, re.S)               # drawn at its site's
    assert 'data-tiles=""' in html and 'id="map-no-tiles"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/map.js" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)       # no inline script
    assert "//" not in re.sub(r'https?://localhost', "", " ".join(
        re.findall(r'(?:src|href)="([^"]+)"', html)))                  # nothing from elsewhere
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "img-src 'self' data:;" in policy


def test_the_tile_server_is_allowed_for_images_only_when_set(config, secrets, snapshot, fleet):
    page = _page(config, secrets, snapshot,
                 map_tiles_url="https://{s}.tiles.amanah.example/{z}/{x}/{y}.png",
                 map_tiles_attribution="© Amanah GIS")
    html = page.get_data(as_text=True)
    assert 'data-tiles="https://{s}.tiles.amanah.example/{z}/{x}/{y}.png"' in html
    assert "map-no-tiles" not in html
    policy = page.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tiles.amanah.example;" in policy
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy


@pytest.mark.parametrize("url", ["tiles.example/{z}/{x}/{y}.png", "https://tiles.example/a.png",
                                 "javascript:alert(1)//{z}{x}{y}"])
def test_a_tile_url_that_cannot_work_is_refused_at_start(url):
    with pytest.raises(ValueError, match="map_tiles_url"):
        AdminConfig(map_tiles_url=url).validate()


def test_leaflet_is_vendored_with_its_licence():
    vendor = STATIC / "vendor" / "leaflet"
    assert (vendor / "leaflet.js").read_text().startswith("/* @preserve\n * Leaflet 1.9.4")
    assert "BSD 2-Clause" in (vendor / "LICENSE").read_text()
    assert (vendor / "images" / "marker-icon.png").is_file()


def test_the_ap_form_takes_a_location(config, secrets, store, snapshot, fleet):
    add_user(store, "olga", "operator")
    client = build_app(config, secrets, snapshot).test_client()
    login(client, "olga")
    form = client.get("/aps/ap-002/edit").get_data(as_text=True)
    assert 'name="lat"' in form and 'name="lon"' in form
    post_form(client, "/aps/ap-002/edit", {"name": "ap-002", "mac": "02:00:00:00:00:02",
                                           "mgmt_ip": "10.0.0.2", "site": "kap",
                                           "platform": "openwrt", "snmp_version": "2c",
                                           "lat": "25.3807", "lon": "49.5852"})
    assert (inventory.get_ap(store, "ap-002")["lat"], inventory.get_ap(store, "ap-002")["lon"]) \
        == (25.3807, 49.5852)
    refused = post_form(client, "/aps/ap-002/edit", {"name": "ap-002", "mac": "02:00:00:00:00:02",
                                                     "mgmt_ip": "10.0.0.2", "site": "kap",
                                                     "platform": "openwrt",
                                                     "snmp_version": "2c", "lat": "25.38",
                                                     "lon": ""})
    assert refused.status_code == 422 and "has-error" in refused.get_data(as_text=True)
    assert inventory.get_ap(store, "ap-002")["lat"] == 25.3807  # nothing half-written


def test_the_demo_spreads_each_parks_aps_over_it(config, store):
    from controller import demo
    demo.seed(config)
    sites = {s["slug"]: s for s in inventory.list_sites(store)}
    aps = inventory.list_aps(store)
    assert aps and all(a["lat"] is not None for a in aps)
    positions = {(a["lat"], a["lon"]) for a in aps}
    assert len(positions) == len(aps)                       # no two drawn on one spot
    for a in aps:
        site = sites[a["site"]]
        assert abs(a["lat"] - site["lat"]) < 0.01 and abs(a["lon"] - site["lon"]) < 0.01
