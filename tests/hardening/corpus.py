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


def login(site, mac: str = "02:00:00:00:00:31", ap: str = "", ip: str = "10.77.0.31") -> None:
    """A terms login through the gateway's signed redirect: the client now has a WiFi
    session (and its device, the MAC, is who asks for SMS codes)."""
    import html
    import re

    from core.contracts.signature import ClientClaim, sign

    claim = ClientClaim("gw1", mac, ip, "http://example.com/", int(site.now), ap)
    landing = site.client.get("/", query_string=sign(claim, site.gateway_key))
    assert landing.status_code == 200, landing.get_data(as_text=True)[:300]
    fields = {name: html.unescape(value) for name, value in re.findall(
        r'type="hidden" name="([^"]+)" value="([^"]*)"', landing.get_data(as_text=True))}
    answer = site.client.post("/login/terms", data={**fields, "accept": "yes"})
    assert answer.status_code == 303


def tracking_in(response) -> str | None:
    import re

    found = re.search(r"940-\d{4}-\d{6}", response.get_data(as_text=True))
    return found.group(0) if found else None


def codes_sent(site) -> int:
    """SMS codes handed to the SMS gateway (logins and report phones)."""
    return site.store.conn.execute(
        "SELECT count(*) FROM sms_messages WHERE purpose IN ('login_code', "
        "'report_phone_code')").fetchone()[0]
