"""The alert, maintenance and notification pages: acknowledging and silencing from the alert
list, planning and cancelling maintenance in local time, the rota, routing and webhooks; who may
do what (viewer, operator, admin); every change audited."""

from __future__ import annotations

import time

import pytest

from controller.notify import rota, rules
from core import alerts as alert_rows
from core import audit, maintenance
from tests.controller.web_harness import add_user, build_app, login, post_form
from tests.fleet import add_ap, add_site


@pytest.fixture
def app(config, secrets, store, snapshot):
    return build_app(config, secrets, snapshot)


@pytest.fixture
def ap(store, secrets):
    add_site(store)
    return add_ap(store, secrets)


@pytest.fixture
def alert(store, ap):
    with store.transaction() as conn:
        return alert_rows.open_alert(conn, "ap_down", "critical", {"consecutive_failures": 3},
                                     at=time.time(), ap_id=ap["id"])


def signed_in(app, store, role: str):
    client = app.test_client()
    add_user(store, f"{role}1", role)
    assert login(client, f"{role}1").status_code == 302
    return client


def actions(store, prefix: str) -> list[str]:
    return [e["action"] for e in audit.entries(store, action_prefix=prefix)]


def test_an_operator_acknowledges_an_alert_with_a_note(app, store, alert):
    client = signed_in(app, store, "operator")
    page = client.get("/alerts/").get_data(as_text=True)
    assert "AP down" in page and f"/alerts/{alert}/ack" in page
    answer = post_form(client, f"/alerts/{alert}/ack", {"note": "crew on the way"},
                       token_from="/alerts/")
    assert answer.status_code == 302
    row = alert_rows.get(store, alert)
    assert (row["acked_by"], row["ack_note"]) == ("web:operator1", "crew on the way")
    page = client.get("/alerts/").get_data(as_text=True)
    acked_row = page.split('id="alert-', 1)[1].split("</tr>", 1)[0]
    assert "operator1" in acked_row and "crew on the way" in acked_row
    assert f"/alerts/{alert}/ack" not in page
    assert actions(store, "alert.") == ["alert.ack"]
    again = post_form(client, f"/alerts/{alert}/ack", {}, token_from="/alerts/")
    assert "already acknowledged" in client.get(again.location).get_data(as_text=True)


def test_a_viewer_sees_alerts_but_cannot_act(app, store, alert):
    client = signed_in(app, store, "viewer")
    page = client.get("/alerts/").get_data(as_text=True)
    assert "AP down" in page and f"/alerts/{alert}/ack" not in page
    assert post_form(client, f"/alerts/{alert}/ack", {}, token_from="/alerts/").status_code == 403
    assert client.get("/notifications/").status_code == 403


def test_silences_need_a_reason_and_can_end_early(app, store, ap, alert):
    client = signed_in(app, store, "operator")
    refused = post_form(client, "/alerts/silences", {"kind": "ap_down", "hours": "2",
                                                      "target": "site:amanah-walkway",
                                                      "reason": ""}, token_from="/alerts/")
    assert "say why" in client.get(refused.location).get_data(as_text=True)
    post_form(client, "/alerts/silences", {"kind": "ap_down", "hours": "2", "reason": "storm",
                                           "target": "site:amanah-walkway"},
              token_from="/alerts/")
    post_form(client, f"/alerts/{alert}/silence", {"hours": "1", "reason": "known"},
              token_from="/alerts/")
    (site_wide, one) = alert_rows.silences(store)
    assert site_wide["site"] == "amanah-walkway" and site_wide["kind"] == "ap_down"
    assert one["alert_id"] == alert and one["ends_at"] - one["starts_at"] == pytest.approx(3600)
    post_form(client, f"/alerts/silences/{one['id']}/cancel", {}, token_from="/alerts/")
    assert [s["id"] for s in alert_rows.silences(store)] == [site_wide["id"]]
    assert actions(store, "alert.") == ["alert.unsilence", "alert.silence", "alert.silence"]


def test_maintenance_is_planned_in_local_time_and_cancelled(app, store, config, ap):
    client = signed_in(app, store, "operator")
    answer = post_form(client, "/maintenance/", {"target": "ap:ap-001",
                                                 "starts": "2026-12-24T22:00", "hours": "3",
                                                 "reason": "firmware"})
    assert answer.status_code == 302
    (window,) = maintenance.overlapping(store, 0, 2e9)
    # 22:00 in Riyadh (UTC+3) is 19:00 UTC.
    assert window.starts_at == 1_798_138_800.0 and window.ends_at - window.starts_at == 3 * 3600
    assert window.ap_id == ap["id"] and window.created_by == "web:operator1"
    page = client.get("/maintenance/").get_data(as_text=True)
    assert "2026-12-24 22:00" in page and "firmware" in page
    post_form(client, f"/maintenance/{window.id}/cancel", {}, token_from="/maintenance/")
    assert maintenance.overlapping(store, 0, 2e9) == []


def test_an_admin_keeps_the_rota_routing_and_webhooks(app, store):
    client = signed_in(app, store, "admin")
    post_form(client, "/notifications/people", {"name": "Noura", "email": "noura@amanah.example",
                                                "phone": "+966500000001", "locale": "ar",
                                                "digest": "on"})
    (noura,) = rota.people(store.conn)
    refused = post_form(client, "/notifications/shifts", {"person": str(noura.id),
                                                         "weekday": "5", "starts": "8am",
                                                         "ends": "16:00"},
                        token_from="/notifications/")
    assert "HH:MM" in client.get(refused.location).get_data(as_text=True)
    post_form(client, "/notifications/shifts", {"person": str(noura.id), "weekday": "5",
                                                "starts": "08:00", "ends": "16:00"},
              token_from="/notifications/")
    assert [(s.weekday, s.starts, s.ends) for s in rota.shifts(store.conn)] == [
        (5, "08:00", "16:00")]
    post_form(client, "/notifications/rules", {"critical-email": "on", "warning-email": "on",
                                               "warning-on_clear": "on"},
              token_from="/notifications/")
    routing = rules.rules(store.conn)
    assert routing["critical"].channels == ("email",) and not routing["critical"].on_clear
    made = post_form(client, "/notifications/webhooks", {"name": "noc",
                                                         "url": "https://noc.example/hook"},
                     token_from="/notifications/")
    assert made.status_code == 201
    page = made.get_data(as_text=True)
    secret = page.split('<code class="token">')[1].split("<")[0]
    assert len(secret) >= 32
    assert secret not in client.get("/notifications/").get_data(as_text=True)
    assert actions(store, "notify.") == ["notify.webhook_add", "notify.rule", "notify.rule",
                                         "notify.rule"]
    assert actions(store, "oncall.") == ["oncall.shift_add", "oncall.person_add"]


def test_an_operator_reads_notification_settings_but_cannot_change_them(app, store):
    client = signed_in(app, store, "operator")
    page = client.get("/notifications/").get_data(as_text=True)
    assert "Routing by severity" in page and "Save routing" not in page
    assert post_form(client, "/notifications/people", {"name": "X", "email": "x@y.example"},
                     token_from="/notifications/").status_code == 403


@pytest.mark.parametrize("path, fields", [
    ("/notifications/shifts", {"person": "9" * 30, "starts": "08:00", "ends": "09:00"}),
    ("/notifications/shifts", {"person": "1", "weekday": "Friday", "starts": "08:00",
                               "ends": "09:00"}),
    ("/maintenance/", {"target": "ap:nowhere", "hours": "2"}),
    ("/maintenance/", {"target": "network", "hours": "2", "starts": "99999-01-01T00:00"}),
    ("/maintenance/", {"target": "network", "hours": "nan"}),
    ("/alerts/silences", {"kind": "ap_down", "hours": "1e9", "reason": "x"}),
])
def test_odd_form_values_are_refused_on_the_page(app, store, path, fields):
    client = signed_in(app, store, "admin")
    answer = post_form(client, path, fields, token_from="/notifications/")
    assert answer.status_code == 302
    assert "flash-error" in client.get(answer.location).get_data(as_text=True)
