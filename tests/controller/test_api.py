"""The REST API under /api/v1/: token auth, roles, JSON errors, inventory and monitoring reads."""

from __future__ import annotations

import json
import time

import pytest

from controller import auth
from controller.monitoring import events, metrics
from controller.monitoring.snapshot import ApState
from core import audit, inventory
from tests.controller.web_harness import SECRET_VALUES, add_user, bearer, error_of, login, status
from tests.fleet import add_ap, add_site, ap_data

# ---- authentication and roles --------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer oasis_not-a-token"},
                                     {"Authorization": "Basic b2xnYTpwdw=="},
                                     {"Authorization": "Bearer"}])
def test_requests_without_a_valid_token_get_401(client, headers):
    response = client.get("/api/v1/sites", headers=headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_stops_working(client, store, op):
    assert client.get("/api/v1/sites", headers=op).status_code == 200
    auth.revoke_tokens(store, "olga", "test")
    assert client.get("/api/v1/sites", headers=op).status_code == 401


def test_viewer_token_reads_but_cannot_write(client, store, viewer):
    add_site(store)
    assert client.get("/api/v1/sites", headers=viewer).status_code == 200
    response = client.post("/api/v1/sites", headers=viewer, json={"slug": "x"})
    assert response.status_code == 403 and error_of(response)["code"] == "forbidden"
    assert client.delete("/api/v1/sites/amanah-walkway", headers=viewer).status_code == 403
    assert client.get("/api/v1/audit", headers=viewer).status_code == 403
    assert len(inventory.list_sites(store)) == 1


def test_session_cookie_reads_but_never_writes(client, store):
    add_user(store, "olga", "operator")
    login(client, "olga")
    assert client.get("/api/v1/sites").status_code == 200
    response = client.post("/api/v1/sites", json={"slug": "x-park", "name_en": "X",
                                                  "name_ar": "س", "kind": "park"})
    assert response.status_code == 401
    assert inventory.list_sites(store) == []


# ---- sites ---------------------------------------------------------------------------------

def test_site_lifecycle_is_audited_as_the_api_user(client, store, op):
    body = {"slug": "king-abdullah-park", "name_en": "King Abdullah Environmental Park",
            "name_ar": "منتزه الملك عبدالله البيئي", "kind": "park", "lat": 26.4, "lon": 50.1}
    response = client.post("/api/v1/sites", headers=op, json=body)
    assert response.status_code == 201
    assert response.headers["Location"] == "/api/v1/sites/king-abdullah-park"
    assert response.get_json()["name_ar"] == body["name_ar"]
    response = client.patch("/api/v1/sites/king-abdullah-park", headers=op,
                            json={"name_en": "KA Park"})
    assert response.status_code == 200 and response.get_json()["name_en"] == "KA Park"
    assert client.get("/api/v1/sites/king-abdullah-park", headers=op).get_json()["lat"] == 26.4
    assert client.delete("/api/v1/sites/king-abdullah-park", headers=op).status_code == 204
    assert client.get("/api/v1/sites/king-abdullah-park", headers=op).status_code == 404
    assert [(e["actor"], e["action"]) for e in audit.entries(store, action_prefix="site.")] == [
        ("api:olga", "site.delete"), ("api:olga", "site.update"), ("api:olga", "site.create")]


def test_duplicate_site_is_409_and_site_in_use_cannot_go(client, store, secrets, op):
    add_site(store)
    add_ap(store, secrets, 1)
    response = client.post("/api/v1/sites", headers=op, json={
        "slug": "amanah-walkway", "name_en": "X", "name_ar": "س", "kind": "walkway"})
    assert response.status_code == 409 and error_of(response)["field"] == "slug"
    response = client.delete("/api/v1/sites/amanah-walkway", headers=op)
    assert response.status_code == 409 and error_of(response)["code"] == "in_use"


# ---- APs -----------------------------------------------------------------------------------

def test_ap_lifecycle_through_the_api(client, store, secrets, op, snapshot):
    add_site(store)
    response = client.post("/api/v1/aps", headers=op, json=ap_data(1, snmp_community="c0mm"))
    assert response.status_code == 201
    created = response.get_json()
    assert created["state"] == "unknown" and created["snmp_community_set"] is True
    snapshot.put(status(created))
    response = client.patch("/api/v1/aps/02-00-00-00-00-01", headers=op, json={"capacity": 40})
    assert response.status_code == 200
    assert response.get_json()["capacity"] == 40 and response.get_json()["state"] == "up"
    assert client.get("/api/v1/aps/10.0.0.1", headers=op).get_json()["name"] == "ap-001"
    assert inventory.ap_secrets(store, secrets, "ap-001")["snmp_community"] == "c0mm"
    assert client.delete("/api/v1/aps/ap-001", headers=op).status_code == 204
    assert client.get("/api/v1/aps/ap-001", headers=op).status_code == 404
    assert [(e["actor"], e["action"]) for e in audit.entries(store, action_prefix="ap.")] == [
        ("api:olga", "ap.delete"), ("api:olga", "ap.update"), ("api:olga", "ap.create")]


def test_ap_list_filters_by_site_and_state(client, store, secrets, op, snapshot):
    add_site(store)
    add_site(store, "other-park")
    first = add_ap(store, secrets, 1)
    add_ap(store, secrets, 2, site="other-park")
    snapshot.put(status(first, state=ApState.DOWN))
    names = lambda r: [ap["name"] for ap in r.get_json()["aps"]]  # noqa: E731
    assert names(client.get("/api/v1/aps", headers=op)) == ["ap-001", "ap-002"]
    assert names(client.get("/api/v1/aps?site=other-park", headers=op)) == ["ap-002"]
    assert names(client.get("/api/v1/aps?state=down", headers=op)) == ["ap-001"]
    assert client.get("/api/v1/aps?state=sideways", headers=op).status_code == 422
    response = client.get("/api/v1/aps?site=nowhere", headers=op)
    assert response.status_code == 422 and error_of(response)["field"] == "site"


@pytest.mark.parametrize("change, field", [({"mac": "02:00:00:00:00:01"}, "mac"),
                                           ({"mgmt_ip": "10.0.0.1"}, "mgmt_ip")])
def test_duplicate_mac_or_ip_is_409_with_field_and_writes_nothing(client, store, secrets, op,
                                                                 change, field):
    add_site(store)
    add_ap(store, secrets, 1)
    before = audit.entries(store)
    response = client.post("/api/v1/aps", headers=op, json=ap_data(2) | change)
    assert response.status_code == 409
    assert error_of(response)["code"] == "duplicate" and error_of(response)["field"] == field
    assert [ap["name"] for ap in inventory.list_aps(store)] == ["ap-001"]
    assert audit.entries(store) == before


@pytest.mark.parametrize("change, field, code", [
    ({"mac": "02:00:00:00:00"}, "mac", "invalid_mac"),
    ({"mac": "01:00:5e:00:00:01"}, "mac", "invalid_mac"),
    ({"mac": 12345}, "mac", "invalid_mac"),
    ({"mgmt_ip": "10.0.0.256"}, "mgmt_ip", "invalid_ip"),
    ({"mgmt_ip": "224.0.0.1"}, "mgmt_ip", "invalid_ip"),
    ({"site": "nowhere"}, "site", "unknown_site"),
    ({"platform": "toaster"}, "platform", "unknown_platform"),
    ({"colour": "blue"}, "colour", "unknown_field"),
    ({"capacity": "many"}, "capacity", "invalid_field"),
    ({"capacity": 10 ** 30}, "capacity", "invalid_field"),
    ({"capacity": 1e308 * 10}, "capacity", "invalid_field"),
    ({"snmp_port": True}, "snmp_port", "invalid_field"),
    ({"name": ["a", "list"]}, "name", "invalid_field"),
    ({"site": {"slug": "amanah-walkway"}}, "site", "invalid_field"),
    ({"name": "x" * 10000}, "name", "invalid_field"),
])
def test_invalid_ap_fields_are_422_with_the_field(client, store, op, change, field, code):
    add_site(store)
    body = json.dumps(ap_data(1) | change).replace("Infinity", "1e999")
    response = client.post("/api/v1/aps", headers=op, data=body,
                           content_type="application/json")
    assert response.status_code == 422
    assert (error_of(response)["field"], error_of(response)["code"]) == (field, code)
    assert inventory.list_aps(store) == []


@pytest.mark.parametrize("body, content_type, status_code", [
    ("{not json", "application/json", 400),
    ('{"name": NaN}', "application/json", 400),
    ("\xff\xfe", "application/json", 400),
    ("[1, 2, 3]", "application/json", 422),
    ('"a string"', "application/json", 422),
    ("null", "application/json", 422),
    ("[" * 100000, "application/json", 400),
    ('{"name": "ap-001"}', "text/plain", 415),
    ("name=ap-001", "application/x-www-form-urlencoded", 415),
    ("", None, 415),
    ("x" * (2 << 20), "application/json", 413),
])
def test_garbage_bodies_get_a_4xx_json_error(client, store, op, body, content_type, status_code):
    add_site(store)
    for method, path in (("post", "/api/v1/aps"), ("post", "/api/v1/sites"),
                         ("patch", "/api/v1/sites/amanah-walkway")):
        response = getattr(client, method)(path, headers=op, data=body.encode("latin-1"),
                                           content_type=content_type)
        assert response.status_code == status_code, (method, path, response.status_code)
        assert set(error_of(response)) == {"code", "message", "field"}
    assert inventory.list_aps(store) == [] and len(inventory.list_sites(store)) == 1


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/aps/ap-404",
                                  "/api/v1/aps/ap-404/status", "/api/v1/aps/ap-404/metrics",
                                  "/api/v1/sites/%00", "/api/v1/aps/%ff%fe"])
def test_unknown_paths_and_refs_are_json_404(client, op, path):
    response = client.get(path, headers=op)
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_wrong_method_is_json_405(client, op):
    response = client.put("/api/v1/sites", headers=op, json={})
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_secrets_never_leave_through_the_api(client, store, op):
    add_site(store)
    community, auth_key, priv_key, ssh_password = SECRET_VALUES
    admin = bearer(store, "ada", "admin")
    bodies = [client.post("/api/v1/aps", headers=op, json=ap_data(
        1, snmp_version="3", snmp_user="oasis", snmp_auth_key=auth_key, snmp_priv_key=priv_key,
        ssh_password=ssh_password)).get_data(as_text=True)]
    bodies.append(client.patch("/api/v1/aps/ap-001", headers=op, json={
        "snmp_version": "2c", "snmp_community": community}).get_data(as_text=True))
    for path in ("/api/v1/aps", "/api/v1/aps/ap-001", "/api/v1/dashboard", "/api/v1/audit"):
        bodies.append(client.get(path, headers=admin).get_data(as_text=True))
    log = json.dumps(audit.entries(store), ensure_ascii=False)
    for secret in SECRET_VALUES:
        assert all(secret not in body for body in bodies), secret
        assert secret not in log
    assert json.loads(bodies[-3])["snmp_community_set"] is True


# ---- monitoring reads ----------------------------------------------------------------------

def test_status_endpoint_returns_the_snapshot(client, store, secrets, op, snapshot):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    unpolled = client.get("/api/v1/aps/ap-001/status", headers=op).get_json()
    assert unpolled["state"] == "unknown" and unpolled["clients"] is None
    snapshot.put(status(ap, clients=None))
    body = client.get("/api/v1/aps/ap-001/status", headers=op).get_json()
    assert body["state"] == "up" and body["clients"] is None and body["in_bps"] == 12_500_000.0
    assert [i["name"] for i in body["interfaces"]] == ["lo", "wlan0"]
    assert body["interfaces"][1]["out_octets"] == 987654321


def test_metrics_and_events_endpoints(client, store, secrets, op):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    now = time.time()
    for i, clients in enumerate((4, 6)):
        metrics.write_cycle(store, [status(ap, clients=clients)], now - 300 + i * 60)
    events.record_event(store, ap["id"], "coldStart", "trap")
    body = client.get(f"/api/v1/aps/ap-001/metrics?since={int(now) - 3600}",
                      headers=op).get_json()
    assert body["resolution"] == "raw" and [p["clients"] for p in body["points"]] == [4, 6]
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - 270))
    assert len(client.get(f"/api/v1/aps/ap-001/metrics?since={iso}", headers=op)
               .get_json()["points"]) == 1
    for query in ("since=yesterday", "since=5&until=1", "since=1e99", "since=0&until=9e9"):
        response = client.get(f"/api/v1/aps/ap-001/metrics?{query}", headers=op)
        assert response.status_code == 422, query
    body = client.get("/api/v1/aps/ap-001/events", headers=op).get_json()
    assert [e["kind"] for e in body["events"]] == ["coldStart"]
    assert client.get("/api/v1/aps/ap-001/events?limit=0", headers=op).status_code == 422
    assert client.get("/api/v1/aps/ap-001/events?limit=x", headers=op).status_code == 422


def test_alerts_endpoint_filters_by_state(client, store, secrets, op):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    with store.transaction() as conn:  # as the alert engine writes them
        conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at) VALUES "
                     "(?, 'ap_down', 'critical', 1735689600.0)", (ap["id"],))
        conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at, cleared_at) VALUES "
                     "(?, 'interface_errors', 'warning', 1735689600.0, "
                     "1735693200.0)", (ap["id"],))
    kinds = lambda q: [a["kind"] for a in client.get(f"/api/v1/alerts{q}", headers=op)  # noqa
                       .get_json()["alerts"]]
    assert kinds("") == ["ap_down"] and kinds("?state=open") == ["ap_down"]
    assert kinds("?state=cleared") == ["interface_errors"]
    assert sorted(kinds("?state=all")) == ["ap_down", "interface_errors"]
    assert client.get("/api/v1/alerts?state=bogus", headers=op).status_code == 422


def test_dashboard_endpoint_matches_the_page_numbers(client, store, secrets, op, snapshot):
    add_site(store)
    first, second = add_ap(store, secrets, 1), add_ap(store, secrets, 2)
    snapshot.put(status(first))
    snapshot.put(status(second, state=ApState.DOWN, clients=None, in_bps=None, out_bps=None))
    body = client.get("/api/v1/dashboard", headers=op).get_json()
    site = body["sites"][0]
    assert site["slug"] == "amanah-walkway" and site["aps"] == 2
    assert site["states"]["up"] == 1 and site["states"]["down"] == 1
    assert site["clients"] == 17 and site["clients_unknown"] == 1
    assert site["in_bps"] == 12_500_000.0
    assert body["totals"]["aps"] == 2
    assert [ap["name"] for ap in body["aps"]] == ["ap-002", "ap-001"]  # worst state first


def test_audit_endpoint_is_for_admins(client, store, op):
    admin = bearer(store, "ada", "admin")
    add_site(store)
    assert client.get("/api/v1/audit", headers=op).status_code == 403
    entries = client.get("/api/v1/audit?action=site.", headers=admin).get_json()["entries"]
    assert [e["action"] for e in entries] == ["site.create"]


def test_times_read_as_iso_8601_as_before_they_were_stored_as_unix_seconds(
        client, store, secrets, op):
    admin = bearer(store, "ada", "admin")
    add_site(store)
    ap = add_ap(store, secrets, 1)
    with store.transaction() as conn:  # 2025-01-01T00:00:00Z, as the store keeps it
        conn.execute("UPDATE sites SET created_at = 1735689600.0, updated_at = 1735689600.5")
        conn.execute("UPDATE aps SET created_at = 1735689600.0, updated_at = 1735693200.0")
        conn.execute("UPDATE audit_log SET at = 1735689600.0")
        conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at, cleared_at) VALUES "
                     "(?, 'ap_down', 'critical', 1735689600.0, 1735693200.0)", (ap["id"],))
    events.record_event(store, ap["id"], "coldStart", "trap", at=1735693200.0)
    get = lambda path, headers=op: client.get(f"/api/v1/{path}", headers=headers).get_json()  # noqa
    site = get("sites/amanah-walkway")
    assert (site["created_at"], site["updated_at"]) == ("2025-01-01T00:00:00+00:00",
                                                        "2025-01-01T00:00:00+00:00")
    assert get("sites")["sites"][0]["created_at"] == "2025-01-01T00:00:00+00:00"
    listed = get("aps")["aps"][0]
    assert (listed["created_at"], listed["updated_at"]) == ("2025-01-01T00:00:00+00:00",
                                                            "2025-01-01T01:00:00+00:00")
    assert get("aps/ap-001")["updated_at"] == "2025-01-01T01:00:00+00:00"
    [alert] = get("alerts?state=all")["alerts"]
    assert (alert["opened_at"], alert["cleared_at"]) == ("2025-01-01T00:00:00+00:00",
                                                         "2025-01-01T01:00:00+00:00")
    assert get("aps/ap-001/events")["events"][0]["at"] == "2025-01-01T01:00:00+00:00"
    assert {e["at"] for e in get("audit", admin)["entries"]} == {"2025-01-01T00:00:00+00:00"}
