"""A report form posted twice files one report: the post a visitor (or the load balancer)
sends again after its answer was lost, when the portal node that filed it died before
replying (docs/scale-out.md, "Portal and admin nodes behind HAProxy")."""

from __future__ import annotations

import re


def _form(site) -> dict:
    html = site.client.get("/reports/new?lang=en").get_data(as_text=True)
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html))
    assert len(fields["submission"]) >= 16
    return {**fields, "category": "lighting", "description": "The lamp by the gate is out",
            "address": "North gate"}


def _tracking(reply) -> str:
    return re.search(r"940-\d{4}-\d{6}", reply.get_data(as_text=True)).group(0)


def test_a_report_posted_twice_is_filed_once(site):
    form = _form(site)
    first = site.client.post("/reports/new", data=form, content_type="multipart/form-data")
    again = site.client.post("/reports/new", data=form, content_type="multipart/form-data")
    assert first.status_code == again.status_code == 200
    assert _tracking(first) == _tracking(again)
    assert site.counts()[:2] == (1, 1)  # one report, one message to the back office
    other = site.client.post("/reports/new", data=_form(site), content_type="multipart/form-data")
    assert _tracking(other) != _tracking(first) and site.counts()[:2] == (2, 2)


def test_a_retried_report_with_a_phone_asks_for_the_code_already_sent(site):
    form = {**_form(site), "phone": "0501234567"}
    first = site.client.post("/reports/new", data=form, content_type="multipart/form-data")
    again = site.client.post("/reports/new", data=form, content_type="multipart/form-data")
    assert 'id="verify-phone"' in first.get_data(as_text=True)
    assert 'id="verify-phone"' in again.get_data(as_text=True)  # not "could not send a code"
    assert _tracking(first) == _tracking(again)
    sent = site.store.conn.execute("SELECT count(*) FROM sms_messages").fetchone()[0]
    assert site.counts()[:2] == (1, 1) and sent == 1


def test_a_form_refused_keeps_its_key_and_a_made_up_key_is_ignored(site):
    form = {**_form(site), "description": ""}
    refused = site.client.post("/reports/new", data=form, content_type="multipart/form-data")
    assert refused.status_code == 400
    assert f'name="submission" value="{form["submission"]}"' in refused.get_data(as_text=True)
    odd = {**_form(site), "submission": "<x>"}
    assert site.client.post("/reports/new", data=odd,
                            content_type="multipart/form-data").status_code == 200
    assert site.store.conn.execute("SELECT submission FROM reports").fetchone()[0] is None
