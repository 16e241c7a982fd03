"""The admin pages: sign-in, CSRF, roles, inventory forms, dashboard and AP page, headers."""

from __future__ import annotations

import re
import time

import pytest

from controller import auth
from controller.monitoring import events, metrics
from controller.monitoring.snapshot import ApState
from core import audit, inventory
from core.secrets import SecretBox
from core.shared_secrets import SharedSecretError
from tests.controller.web_harness import (
    PASSWORD,
    SECRET_VALUES,
    add_user,
    build_app,
    csrf_token,
    login,
    post_form,
    status,
)
from tests.fleet import add_ap, add_site, ap_data

PAGES = ("/", "/sites/", "/sites/new", "/aps/", "/aps/new", "/alerts/", "/audit/", "/users/")


@pytest.fixture
def app(config, secrets, store, snapshot):
    return build_app(config, secrets, snapshot)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def operator(store, client):
    add_user(store, "olga", "operator")
    assert login(client, "olga").status_code == 302
    return client


# ---- sign-in -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_wrong_password_is_refused_and_audited(client, store):
    add_user(store, "olga", "operator")
    response = login(client, "olga", "not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    assert audit.entries(store, action_prefix="user.login_failed")[0]["target_id"] == "olga"


def test_sign_in_sets_a_hardened_session_cookie(client, store):
    add_user(store, "olga", "operator")
    response = login(client, "olga")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # a permanent session bounded by admin.session_hours
    assert client.get("/").status_code == 200


def test_secure_cookies_setting_marks_the_cookie_secure(config, secrets, store):
    config.admin.secure_cookies = True
    add_user(store, "olga", "operator")
    client = build_app(config, secrets).test_client()
    assert "Secure" in login(client, "olga").headers["Set-Cookie"]


def test_sign_out_ends_the_session(operator):
    token = csrf_token(operator, "/")
    assert operator.post("/logout", data={"csrf_token": token}).status_code == 302
    assert operator.get("/").status_code == 302


def test_sign_in_does_not_redirect_off_site(client, store):
    add_user(store, "olga", "operator")
    token = csrf_token(client)
    response = client.post("/login", data={"username": "olga", "password": PASSWORD,
                                           "csrf_token": token, "next": "//evil.example/x"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert client.get("/").status_code == 302  # not signed in by a sign-in meant for elsewhere


def test_repeated_failures_block_even_the_right_password(client, store):
    add_user(store, "olga", "operator")
    for _ in range(5):
        assert login(client, "olga", "wrong password").status_code == 401
    assert login(client, "olga").status_code == 429


def test_session_key_is_kept_in_the_store_under_the_key_file(config, secrets, tmp_path):
    first = build_app(config, secrets).config["SECRET_KEY"]
    assert first == build_app(config, secrets).config["SECRET_KEY"]  # stable across restarts
    assert len(first) == 32
    config.store.key_file = str(tmp_path / "other.key")  # a node with another key file
    with pytest.raises(SharedSecretError, match="every node needs the same key file"):
        build_app(config, SecretBox.from_key_file(config.store.key_file))


# ---- CSRF and roles ------------------------------------------------------------------------

def test_form_post_without_csrf_token_is_refused(operator, store):
    response = operator.post("/sites/new", data={"slug": "x-park", "name_en": "X", "name_ar": "س",
                                                 "kind": "park"})
    assert response.status_code == 400
    assert inventory.list_sites(store) == []


def test_form_post_with_a_forged_csrf_token_is_refused(operator, store):
    response = operator.post("/sites/new", data={"slug": "x-park", "name_en": "X", "name_ar": "س",
                                                 "kind": "park", "csrf_token": "forged"})
    assert response.status_code == 400
    assert inventory.list_sites(store) == []


def test_viewer_reads_but_cannot_change(client, store):
    add_user(store, "vera", "viewer")
    login(client, "vera")
    assert client.get("/sites/").status_code == 200
    assert client.get("/sites/new").status_code == 403
    response = post_form(client, "/sites/new", {"slug": "x-park", "name_en": "X", "name_ar": "س",
                                                "kind": "park"}, token_from="/")
    assert response.status_code == 403
    assert inventory.list_sites(store) == []
    assert client.get("/audit/").status_code == 403


def test_operator_cannot_manage_users(operator, store):
    assert operator.get("/users/").status_code == 403
    response = post_form(operator, "/users/new", {"username": "mallory", "password": PASSWORD,
                                                  "role": "admin"}, token_from="/")
    assert response.status_code == 403
    assert [u.username for u in auth.list_users(store)] == ["olga"]


def test_role_change_applies_to_an_open_session(operator, store):
    assert operator.get("/sites/new").status_code == 200
    auth.set_role(store, "olga", "viewer", "test")
    assert operator.get("/sites/new").status_code == 403


# ---- sites and APs through forms -----------------------------------------------------------

def test_site_create_edit_delete_through_forms(operator, store):
    response = post_form(operator, "/sites/new", {"slug": "king-abdullah-park", "kind": "park",
                                                  "name_en": "King Abdullah Park",
                                                  "name_ar": "منتزه الملك عبدالله",
                                                  "lat": "26.43", "lon": "50.1"})
    assert response.status_code == 302
    listing = operator.get("/sites/").get_data(as_text=True)
    assert '<span dir="rtl" lang="ar" class="ar">منتزه الملك عبدالله</span>' in listing

    response = post_form(operator, "/sites/king-abdullah-park/edit",
                         {"slug": "king-abdullah-park", "kind": "park", "name_en": "KA Park",
                          "name_ar": "منتزه", "lat": "", "lon": ""})
    assert response.status_code == 302
    assert inventory.get_site(store, "king-abdullah-park")["name_en"] == "KA Park"

    response = post_form(operator, "/sites/king-abdullah-park/delete", {}, token_from="/sites/")
    assert response.status_code == 302
    assert inventory.list_sites(store) == []
    actions = [(e["actor"], e["action"]) for e in audit.entries(store, action_prefix="site.")]
    assert actions == [("web:olga", "site.delete"), ("web:olga", "site.update"),
                       ("web:olga", "site.create")]


def test_site_form_shows_the_field_in_error(operator, store):
    response = post_form(operator, "/sites/new", {"slug": "Bad Slug", "kind": "park",
                                                  "name_en": "X", "name_ar": "س"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'id="e-slug">slug must be lower-case', page)
    assert inventory.list_sites(store) == []


def test_ap_form_reports_a_malformed_mac_and_writes_nothing(operator, store):
    add_site(store)
    data = ap_data(1, mac="02:00:zz:00:00:01", snmp_community=SECRET_VALUES[0])
    response = post_form(operator, "/aps/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="e-mac">not a MAC address' in page
    assert SECRET_VALUES[0] not in page  # a secret typed into the form is not sent back
    assert 'value="ap-001"' in page      # other fields are kept for correction
    assert inventory.list_aps(store) == []


def test_ap_form_refuses_a_duplicate_ip(operator, store, secrets):
    add_site(store)
    add_ap(store, secrets, 1)
    response = post_form(operator, "/aps/new", ap_data(2, mgmt_ip="10.0.0.1"))
    assert response.status_code == 422
    assert 'id="e-mgmt_ip">management IP 10.0.0.1 is already used by AP ap-001' in \
        response.get_data(as_text=True)
    assert [ap["name"] for ap in inventory.list_aps(store)] == ["ap-001"]


def test_ap_create_edit_delete_keep_secrets_out_of_pages_and_audit(operator, store, secrets):
    add_site(store)
    community, auth_key, priv_key, ssh_password = SECRET_VALUES
    response = post_form(operator, "/aps/new", ap_data(
        1, snmp_version="3", snmp_user="oasis", snmp_auth_key=auth_key, snmp_priv_key=priv_key,
        ssh_username="admin", ssh_password=ssh_password))
    assert response.status_code == 302 and response.headers["Location"] == "/aps/ap-001"
    bodies = [operator.get(path).get_data(as_text=True)
              for path in ("/aps/ap-001", "/aps/ap-001/edit", "/aps/", "/", "/audit/")]
    assert "set; leave blank to keep" in bodies[1]

    # Blank secret fields keep the stored secrets; the capacity change goes through.
    edit = {"name": "ap-001", "mac": "02:00:00:00:00:01", "mgmt_ip": "10.0.0.1",
            "site": "amanah-walkway", "platform": "openwrt", "snmp_version": "3",
            "snmp_user": "oasis", "snmp_auth_proto": "SHA", "snmp_priv_proto": "AES",
            "snmp_auth_key": "", "snmp_priv_key": "", "ssh_username": "admin",
            "ssh_password": "", "capacity": "80"}
    response = post_form(operator, "/aps/ap-001/edit", edit)
    assert response.status_code == 302
    assert inventory.get_ap(store, "ap-001")["capacity"] == 80
    kept = inventory.ap_secrets(store, secrets, "ap-001")
    assert (kept["snmp_auth_key"], kept["snmp_priv_key"], kept["ssh_password"]) == \
        (auth_key, priv_key, ssh_password)

    response = post_form(operator, "/aps/ap-001/delete", {}, token_from="/aps/ap-001")
    assert response.status_code == 302
    assert inventory.list_aps(store) == []
    bodies.append(operator.get("/audit/").get_data(as_text=True))
    log = str(audit.entries(store))
    for secret in SECRET_VALUES[1:]:
        assert secret not in log
        assert all(secret not in body for body in bodies)
    actions = [(e["actor"], e["action"]) for e in audit.entries(store, action_prefix="ap.")]
    assert actions == [("web:olga", "ap.delete"), ("web:olga", "ap.update"),
                       ("web:olga", "ap.create")]


def test_changes_are_announced_when_mqtt_is_wired(config, secrets, store):
    published = []
    client = build_app(config, secrets, published=published).test_client()
    add_user(store, "olga", "operator")
    login(client, "olga")
    post_form(client, "/sites/new", {"slug": "x-park", "kind": "park", "name_en": "X",
                                     "name_ar": "س"})
    assert published == [("inventory/changed",
                           {"kind": "site", "action": "create", "ref": "x-park"})]


# ---- monitoring pages ----------------------------------------------------------------------

def test_dashboard_shows_snapshot_values_and_unknowns(operator, store, secrets, snapshot):
    add_site(store)
    up = add_ap(store, secrets, 1)
    blind = add_ap(store, secrets, 2)
    add_ap(store, secrets, 3)  # not polled yet
    snapshot.put(status(up))
    snapshot.put(status(blind, clients=None, in_bps=1_000_000.0, out_bps=None))
    page = operator.get("/").get_data(as_text=True)
    rows = {name: re.search(rf'{name}</a>.*?</tr>', page, re.S).group(0)
            for name in ("ap-001", "ap-002", "ap-003")}
    assert '<td class="num clients">17</td>' in rows["ap-001"]
    assert "12.50" in rows["ap-001"] and "3.25" in rows["ap-001"]
    assert "1d 1h 01m" in rows["ap-001"]  # 90061 s of uptime
    assert '<td class="num clients">unknown</td>' in rows["ap-002"]
    assert "state-unknown" in rows["ap-003"]
    assert '<span dir="rtl" lang="ar" class="ar">ممشى أمانة</span>' in page
    assert re.search(r'<span class="big">17</span> clients\s*<small>\(2 access point\(s\) unknown\)',
                     page)
    assert "13.50 / 3.25" in page  # site traffic sums over the APs that report it


def test_dashboard_lists_aps_with_open_alerts_first(operator, store, secrets, snapshot):
    add_site(store)
    first, second = add_ap(store, secrets, 1), add_ap(store, secrets, 2)
    snapshot.put(status(first))
    snapshot.put(status(second))
    with store.transaction() as conn:  # as the alert engine would have opened it
        conn.execute("INSERT INTO alerts (ap_id, kind, severity, opened_at) VALUES "
                     "(?, 'clients_over_capacity', 'warning', 1735689600.0)",
                     (second["id"],))
    page = operator.get("/").get_data(as_text=True)
    assert page.index("ap-002</a>") < page.index("ap-001</a>")
    assert 'class="alerting"' in page
    alerts_page = operator.get("/alerts/").get_data(as_text=True)
    assert "clients_over_capacity" in alerts_page and "Open (1)" in alerts_page


def test_ap_page_shows_status_interfaces_events_and_charts(operator, store, secrets, snapshot):
    add_site(store)
    ap = add_ap(store, secrets, 1)
    now = time.time()
    points = [status(ap, clients=c, in_bps=c * 1e6, answered_at=now - 600 + i * 60)
              for i, c in enumerate((3, 5, 8))]
    for i, point in enumerate(points):
        metrics.write_cycle(store, [point], now - 600 + i * 60)
    snapshot.put(points[-1])
    events.record_event(store, ap["id"], "linkDown", "trap", {"ifIndex": 2})
    page = operator.get("/aps/ap-001").get_data(as_text=True)
    assert "OpenWrt 23.05 test" in page and "wlan0" in page and "987654321" in page
    assert '<dd class="clients">8</dd>' in page
    assert "linkDown" in page
    charts = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(charts) == 2 and all("<polyline" in chart for chart in charts)
    assert "no data yet" not in page


def test_ap_page_says_unknown_before_the_first_poll(operator, store, secrets):
    add_site(store)
    add_ap(store, secrets, 1)
    page = operator.get("/aps/ap-001").get_data(as_text=True)
    assert '<dd class="clients">unknown</dd>' in page
    assert "no data yet" in page and "Not polled yet." in page


def test_unknown_ap_page_is_404(operator):
    assert operator.get("/aps/ap-404").status_code == 404


def test_security_headers_and_no_inline_code(operator, store, secrets, snapshot):
    add_site(store)
    snapshot.put(status(add_ap(store, secrets, 1), state=ApState.DEGRADED))
    for path in ("/", "/aps/ap-001", "/login"):
        response = operator.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        page = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # every script is a file
        assert " style=" not in page and "<style" not in page
        assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert operator.get("/static/app.css").status_code == 200


# ---- users, audit --------------------------------------------------------------------------

def test_admin_manages_users_and_sees_a_token_once(client, store):
    add_user(store, "ada", "admin")
    login(client, "ada")
    response = post_form(client, "/users/new", {"username": "otto", "password": PASSWORD,
                                                "role": "viewer"}, token_from="/users/")
    assert response.status_code == 302
    post_form(client, "/users/otto/role", {"role": "operator"}, token_from="/users/")
    assert {u.username: u.role for u in auth.list_users(store)}["otto"] == "operator"

    response = post_form(client, "/users/otto/tokens", {"name": "ci"}, token_from="/users/")
    token = re.search(r'<code class="token">(oasis_[^<]+)</code>', response.get_data(as_text=True))
    assert token and auth.user_for_token(store, token.group(1)).username == "otto"
    assert token.group(1) not in client.get("/users/").get_data(as_text=True)
    assert token.group(1) not in str(audit.entries(store))

    post_form(client, "/users/otto/tokens/revoke", {}, token_from="/users/")
    assert auth.user_for_token(store, token.group(1)) is None
    actions = [(e["actor"], e["action"]) for e in audit.entries(store, actor="web:ada")]
    assert [a for _, a in actions if not a.startswith("user.login")] == \
        ["token.revoke", "token.create", "user.role", "user.create"]


def test_admin_cannot_lower_their_own_role(client, store):
    add_user(store, "ada", "admin")
    login(client, "ada")
    post_form(client, "/users/ada/role", {"role": "viewer"}, token_from="/users/")
    assert auth.list_users(store)[0].role == "admin"


def test_user_form_shows_a_weak_password(client, store):
    add_user(store, "ada", "admin")
    login(client, "ada")
    response = post_form(client, "/users/new", {"username": "otto", "password": "short",
                                                "role": "viewer"}, token_from="/users/")
    assert response.status_code == 422
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert len(auth.list_users(store)) == 1


def test_audit_page_filters_by_actor_and_action(operator, store):
    add_site(store, "a-park")
    add_site(store, "b-park")
    page = operator.get("/audit/?actor=test&action=site.create").get_data(as_text=True)
    assert page.count('data-action="site.create"') == 2
    assert page.count("added the site") == 2  # a sentence, not the action's code
    assert 'data-action="user.login"' not in page
    assert "b-park" in operator.get("/audit/?action=site.").get_data(as_text=True)
    assert 'data-action="site.create"' not in operator.get("/audit/?actor=web:olga&action=site.") \
        .get_data(as_text=True)
