"""What every bad-input case checks after its request: the documented 4xx (never a 5xx), a body
its format's parser reads, nothing half-written in the store, and the app still serving."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET


def readable(response) -> object:
    """The body parsed by its content type's parser (expat for XML): fails the case if not."""
    body = response.get_data()
    kind = response.content_type or ""
    if kind.startswith("text/xml"):
        return ET.fromstring(body)
    if kind.startswith("application/json"):
        return json.loads(body)
    return response.get_data(as_text=True)


def whole(site) -> None:
    """Nothing half-written: each report has its first event and its outbox message, each
    photo and outbox row its report, each phone code its report or device."""
    conn = site.store.conn
    reports = conn.execute("SELECT count(*) FROM reports").fetchone()[0]
    published = conn.execute("SELECT count(DISTINCT report_id) FROM report_outbox "
                             "WHERE topic = 'reports/new'").fetchone()[0]
    first_events = conn.execute("SELECT count(DISTINCT report_id) FROM report_events").fetchone()[0]
    assert reports == published == first_events
    orphans = conn.execute(
        "SELECT (SELECT count(*) FROM report_photos WHERE report_id NOT IN "
        "        (SELECT id FROM reports)) + "
        "       (SELECT count(*) FROM report_outbox WHERE report_id NOT IN "
        "        (SELECT id FROM reports))").fetchone()[0]
    assert orphans == 0


def still_serving(site) -> None:
    assert site.client.get("/terms").status_code == 200
    assert site.client.get("/open311/v2/services.json").status_code == 200
    assert site.client.get("/reports/new").status_code == 200
