"""/api/v1 alerting: acknowledge, silences, maintenance, the rota, routing, webhooks, the outbox,
the 940 pipeline; roles and the audit log's api:<user> actor."""

from __future__ import annotations

import time

import pytest

from core import alerts as alert_rows
from core import audit
from tests.controller.web_harness import bearer, error_of
from tests.fleet import add_ap, add_site


@pytest.fixture
def api(client, store):
    return client


@pytest.fixture
def admin(store):
    return bearer(store, "ada", "admin")


@pytest.fixture
def alert(store, secrets):
    add_site(store)
    ap = add_ap(store, secrets)
    with store.transaction() as conn:
        return alert_rows.open_alert(conn, "ap_down", "critical", {}, at=time.time(),
                                     ap_id=ap["id"])


def test_acknowledge_through_the_api(api, store, op, viewer, alert):
    assert api.post(f"/api/v1/alerts/{alert}/ack", json={}, headers=viewer).status_code == 403
    answer = api.post(f"/api/v1/alerts/{alert}/ack", json={"note": "taken"}, headers=op)
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["acked_by"], body["ack_note"]) == ("api:olga", "taken")
    assert body["acked_at"].endswith("+00:00")
    again = api.post(f"/api/v1/alerts/{alert}/ack", json={}, headers=op)
    assert again.status_code == 422 and error_of(again)["code"] == "alert.already_acked"
    assert api.post("/api/v1/alerts/999/ack", json={}, headers=op).status_code == 404
    listed = api.get("/api/v1/alerts", headers=viewer).get_json()["alerts"]
    assert listed[0]["acked_by"] == "api:olga"


def test_silences_and_maintenance_through_the_api(api, store, op, alert):
    made = api.post("/api/v1/silences", json={"kind": "ap_down", "site": "amanah-walkway",
                                              "hours": 2, "reason": "storm"}, headers=op)
    assert made.status_code == 201 and made.get_json()["site"] == "amanah-walkway"
    no_reason = api.post("/api/v1/silences", json={"alert_id": alert, "hours": 1}, headers=op)
    assert error_of(no_reason)["field"] == "reason"
    nowhere = api.post("/api/v1/silences", json={"site": "atlantis", "hours": 1,
                                                 "reason": "x"}, headers=op)
    assert nowhere.status_code == 422 and error_of(nowhere)["field"] == "site"
    silence_id = made.get_json()["id"]
    assert api.delete(f"/api/v1/silences/{silence_id}", headers=op).status_code == 204
    assert api.get("/api/v1/silences", headers=op).get_json()["silences"] == []

    window = api.post("/api/v1/maintenance", json={"ap": "ap-001",
                                                   "starts_at": "2026-12-24T22:00",
                                                   "ends_at": "2026-12-25T01:00",
                                                   "reason": "firmware"}, headers=op)
    assert window.status_code == 201
    assert window.get_json()["starts_at"] == "2026-12-24T19:00:00+00:00"  # Riyadh is UTC+3
    backwards = api.post("/api/v1/maintenance", json={"starts_at": 1_800_000_000,
                                                      "ends_at": 1_799_999_000}, headers=op)
    assert error_of(backwards)["code"] == "maintenance.ends_before_start"
    listed = api.get("/api/v1/maintenance?days=400", headers=op).get_json()["windows"]
    assert [w["reason"] for w in listed] == ["firmware"]
    assert api.delete(f"/api/v1/maintenance/{listed[0]['id']}", headers=op).status_code == 204
    actions = [e["action"] for e in audit.entries(store, actor="api:olga")]
    assert actions == ["maintenance.remove", "maintenance.add", "alert.unsilence",
                       "alert.silence"]


def test_rota_routing_and_webhooks_need_an_admin(api, op, admin):
    person = api.post("/api/v1/oncall/people", json={"name": "Sam", "phone": "+966500000002",
                                                     "locale": "en"}, headers=op)
    assert person.status_code == 403
    person = api.post("/api/v1/oncall/people", json={"name": "Sam", "phone": "+966500000002",
                                                     "locale": "en"}, headers=admin)
    assert person.status_code == 201
    sam = person.get_json()["id"]
    shift = api.post("/api/v1/oncall/shifts", json={"person_id": sam, "weekday": 5,
                                                    "starts": "20:00", "ends": "08:00"},
                     headers=admin)
    assert shift.status_code == 201
    rota = api.get("/api/v1/oncall", headers=op).get_json()
    assert rota["timezone"] == "Asia/Riyadh" and rota["on_call_now"] == [sam]
    assert rota["shifts"][0]["ends"] == "08:00"
    bad = api.post("/api/v1/oncall/people", json={"name": "X", "phone": "0500"}, headers=admin)
    assert error_of(bad)["field"] == "phone"

    answer = api.put("/api/v1/notifications/rules/warning", json={"email": True, "sms": True},
                     headers=admin)
    assert answer.status_code == 200, answer.get_json()
    rules = answer.get_json()["rules"]
    assert rules["warning"] == {"channels": ["email", "sms"], "on_clear": True}
    assert api.put("/api/v1/notifications/rules/warning", json={"pager": True},
                   headers=admin).status_code == 422

    hook = api.post("/api/v1/notifications/webhooks", json={"name": "noc",
                                                            "url": "https://noc.example/h"},
                    headers=admin)
    assert hook.status_code == 201 and len(hook.get_json()["secret"]) >= 32
    listed = api.get("/api/v1/notifications/webhooks", headers=op).get_json()["webhooks"]
    assert listed == [{"id": hook.get_json()["id"], "name": "noc",
                       "url": "https://noc.example/h", "active": True}]
    assert api.get("/api/v1/notifications/outbox", headers=op).get_json() == {
        "counts": {}, "messages": []}


def test_the_pipeline_health_reads_the_store(api, viewer):
    health = api.get("/api/v1/pipeline", headers=viewer).get_json()
    assert health["outbox_depth"] == 0 and health["running"] is False
    assert health["down_for_s"] is None


@pytest.mark.parametrize("body, field", [
    ({"hours": "soon", "reason": "x", "kind": "ap_down"}, "hours"),
    ({"hours": 10 ** 6, "reason": "x", "kind": "ap_down"}, "hours"),
    ({"starts_at": 1e300, "hours": 1, "reason": "x", "kind": "ap_down"}, "starts_at"),
    ({"starts_at": "9999-12-31T23:59", "hours": 1, "reason": "x", "kind": "ap_down"},
     "starts_at"),
    ({"starts_at": "yesterday", "hours": 1, "reason": "x", "kind": "ap_down"}, "starts_at"),
    ({"ends_at": -5, "reason": "x", "kind": "ap_down"}, "ends_at"),
    ({"ap": "ap-404", "hours": 1, "reason": "x"}, "ap"),
])
def test_odd_silences_are_refused_with_the_field(api, op, body, field):
    answer = api.post("/api/v1/silences", json=body, headers=op)
    assert answer.status_code == 422 and error_of(answer)["field"] == field
