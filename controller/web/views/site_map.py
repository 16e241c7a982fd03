"""The map of sites and APs, coloured by what the poller last saw.

The page works without a tile server (as in a park with no internet): Leaflet, served from our
own static files, draws the sites' outlines and labels and the APs on a plain background; with
``[admin] map_tiles_url`` set, the municipality's tiles go under them. Without script, the same
places are listed with their coordinates. No inline script: map.js reads the list.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, render_template

from controller.monitoring.snapshot import ApState
from controller.web import context
from controller.web.context import page_role
from controller.web.formatting import state_name
from controller.web.security import CONTENT_SECURITY_POLICY
from core import inventory

bp = Blueprint("map", __name__, url_prefix="/map")


def places(store, snapshot) -> tuple[list[dict], list[dict]]:
    """(sites, APs) with their coordinates and state; an AP without its own position is drawn
    at its site's, marked ``placed_at_site``; what has no position at all is listed unplaced."""
    sites = inventory.list_sites(store)
    where = {s["slug"]: (s["lat"], s["lon"]) for s in sites}
    aps = []
    for ap in inventory.list_aps(store):
        status = snapshot.get(ap["id"])
        state = status.state.value if status else ApState.UNKNOWN.value
        lat, lon, at_site = ap.get("lat"), ap.get("lon"), False
        if lat is None and where.get(ap["site"], (None, None))[0] is not None:
            (lat, lon), at_site = where[ap["site"]], True
        aps.append({"id": ap["id"], "name": ap["name"], "site": ap["site"], "lat": lat,
                    "lon": lon, "placed_at_site": at_site, "state": state,
                    "state_name": state_name(state),
                    "clients": status.clients if status else None})
    return sites, aps


def map_policy(tiles_url: str) -> str:
    """The admin's policy, with the tile server's origin allowed for images when one is set."""
    if not tiles_url:
        return CONTENT_SECURITY_POLICY
    parts = urlsplit(tiles_url)
    host = parts.netloc
    if host.startswith("{s}."):  # Leaflet's subdomains a, b, c
        host = "*." + host.removeprefix("{s}.")
    origin = f"{parts.scheme}://{host}"
    return CONTENT_SECURITY_POLICY.replace("img-src 'self' data:", f"img-src 'self' data: {origin}")


@bp.route("/")
@page_role("viewer")
def index():
    admin = context.runtime().config.admin
    sites, aps = places(context.store(), context.snapshot())
    page = render_template("map.html", sites=sites, aps=aps, tiles_url=admin.map_tiles_url,
                           tiles_attribution=admin.map_tiles_attribution,
                           states=[s.value for s in ApState])
    return page, 200, {"Content-Security-Policy": map_policy(admin.map_tiles_url)}


__all__ = ["bp", "map_policy", "places"]
