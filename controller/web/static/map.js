// The map page: reads the places listed in #map-places (no inline script, so the admin's
// Content-Security-Policy stays strict) and draws them with Leaflet, vendored in our static
// files. With no tile server configured the map is a plain background with each site's outline
// and label and the APs coloured by state, so it works in a park with no internet.
(function () {
  "use strict";
  var COLOURS = {up: "#1a7f37", degraded: "#9a6700", down: "#cf222e", auth_failed: "#8250df",
                 unknown: "#6e7781"};

  function draw() {
    var holder = document.getElementById("map");
    if (!holder || typeof L === "undefined") { return; }
    var rows = document.querySelectorAll("#map-places tr.map-place[data-lat]");
    var map = L.map(holder, {attributionControl: true, zoomSnap: 0.25});
    var tiles = holder.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {maxZoom: 20, attribution: holder.getAttribute("data-attribution") || ""})
        .addTo(map);
    }
    var bounds = L.latLngBounds([]);
    var siteAps = {};
    rows.forEach(function (row) {
      var at = L.latLng(parseFloat(row.getAttribute("data-lat")),
                        parseFloat(row.getAttribute("data-lon")));
      bounds.extend(at);
      if (row.getAttribute("data-kind") === "ap") {
        var site = row.getAttribute("data-site");
        (siteAps[site] = siteAps[site] || []).push(at);
      }
    });
    rows.forEach(function (row) {
      var at = L.latLng(parseFloat(row.getAttribute("data-lat")),
                        parseFloat(row.getAttribute("data-lon")));
      var name = row.getAttribute("data-name");
      var link = document.createElement("a");
      link.href = row.getAttribute("data-href");
      link.textContent = name;
      if (row.getAttribute("data-kind") === "report") {
        // A 940 report's position: a ring with its tracking number, above the APs.
        L.circleMarker(at, {radius: 11, color: "#cf222e", weight: 4, fillColor: "#ffffff",
                            fillOpacity: 0.9, className: "map-report"})
          .addTo(map).bindTooltip(name, {permanent: true, direction: "right", offset: [12, 0],
                                         className: "map-label"});
      } else if (row.getAttribute("data-kind") === "site") {
        // The site's outline: around its own point and its APs, a little wider.
        var area = L.latLngBounds([at].concat(siteAps[row.getAttribute("data-slug")] || []));
        var outline = L.rectangle(area.pad(0.3), {color: "#0969da", weight: 2, fill: true,
                                                  fillOpacity: 0.06, dashArray: "4 4"});
        if (area.getNorthEast().equals(area.getSouthWest())) {
          outline = L.circle(at, {radius: 60, color: "#0969da", weight: 2, fillOpacity: 0.06,
                                  dashArray: "4 4"});
        }
        outline.addTo(map).bindPopup(link);
        L.marker(at, {icon: L.divIcon({className: "map-site-label", html: "",
                                       iconSize: [12, 12]}), keyboard: false})
          .addTo(map).bindTooltip(name, {permanent: true, direction: "top", className: "map-label"});
      } else {
        var state = row.getAttribute("data-state");
        var marker = L.circleMarker(at, {radius: 8, color: "#ffffff", weight: 2, fillOpacity: 1,
                                         fillColor: COLOURS[state] || COLOURS.unknown,
                                         className: "map-ap state-" + state});
        marker.addTo(map).bindTooltip(name + " · " + row.getAttribute("data-state-name"));
        marker.bindPopup(link);
      }
    });
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.2), {maxZoom: 17});
    } else {
      map.setView([24.7, 46.7], 5);
    }
    holder.setAttribute("data-drawn", String(rows.length));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());
