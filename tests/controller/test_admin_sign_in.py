"""Admin sign-in: lockouts per user and address kept in the store (so they hold across workers),
a ceiling per user that slows a guess spread over many addresses, sessions that end at sign-out
in every worker, and API tokens with an expiry."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from controller import auth
from controller.cli import cli
from controller.web.security import LoginGuard, LoginPolicy
from core import audit
from core.store import Store, now
from tests.controller.web_harness import PASSWORD, add_user, build_app, csrf_token, error_of

ADMIN_HOME = "198.51.100.10"   # where the admin signs in every day
ELSEWHERE = "203.0.113.66"


@pytest.fixture
def app(config, secrets, store):
    return build_app(config, secrets)


@pytest.fixture
def clock(app):
    """Wall-clock seconds the app's sign-in guard reads; a test moves it forward."""
    now = [1_900_000_000.0]
    app.extensions["oasis"].login_limiter = LoginGuard(clock=lambda: now[0])
    return now


def sign_in(app, username: str, password: str = PASSWORD, address: str = ADMIN_HOME,
            client=None):
    """POST the sign-in form from ``address``, as a browser there would."""
    client = client or app.test_client()
    token = csrf_token(client)
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


# ---- lockouts per user and address (defect 6) ---------------------------------------------------

def test_wrong_passwords_from_elsewhere_do_not_lock_the_admin_out(app, store, clock):
    add_user(store, "adam", "admin")
    for _ in range(5):
        assert sign_in(app, "adam", "wrong password", ELSEWHERE).status_code == 401
    locked = sign_in(app, "adam", PASSWORD, ELSEWHERE)  # even the right password, from there
    assert locked.status_code == 429
    assert "from this address" in locked.get_data(as_text=True)
    assert 0 < int(locked.headers["Retry-After"]) <= 300
    assert sign_in(app, "adam", PASSWORD, ADMIN_HOME).status_code == 302  # the admin gets in
    clock[0] += 301  # the window slides past the five failures
    assert sign_in(app, "adam", PASSWORD, ELSEWHERE).status_code == 302


def test_the_right_password_forgives_that_address_its_earlier_typos(app, store, clock):
    add_user(store, "adam", "admin")
    for _ in range(4):
        sign_in(app, "adam", "wrong password")
    assert sign_in(app, "adam").status_code == 302
    for _ in range(4):  # four more typos: still not five since the good one
        assert sign_in(app, "adam", "wrong password").status_code == 401
    assert sign_in(app, "adam").status_code == 302


def test_one_address_trying_many_usernames_is_locked_on_its_own(app, store, clock):
    add_user(store, "adam", "admin")
    policy = LoginPolicy()
    for n in range(policy.address_failures):
        assert sign_in(app, f"guess{n}", "wrong password", ELSEWHERE).status_code == 401
    refused = sign_in(app, "adam", PASSWORD, ELSEWHERE)
    assert refused.status_code == 429 and "from this address" in refused.get_data(as_text=True)
    assert sign_in(app, "adam", PASSWORD, ADMIN_HOME).status_code == 302


def test_a_guess_spread_over_many_addresses_is_slowed_not_locked(app, store, clock):
    add_user(store, "adam", "admin")
    assert sign_in(app, "adam").status_code == 302  # ADMIN_HOME becomes a usual address
    policy = LoginPolicy()
    for n in range(policy.user_ceiling):  # a botnet: one wrong password per address
        assert sign_in(app, "adam", "wrong password", f"192.0.2.{n + 1}").status_code == 401
    # Past the ceiling, new addresses share one attempt per interval for this user...
    assert sign_in(app, "adam", "wrong password", "192.0.2.200").status_code == 401
    slowed = sign_in(app, "adam", PASSWORD, "192.0.2.201")
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) == policy.slow_interval_s
    assert "one attempt is allowed every 30 s" in slowed.get_data(as_text=True)
    # ...the admin's usual address is not slowed at all...
    assert sign_in(app, "adam", PASSWORD, ADMIN_HOME).status_code == 302
    # ...and a new address is slowed, not locked: after the interval it may try again.
    clock[0] += policy.slow_interval_s
    assert sign_in(app, "adam", PASSWORD, "192.0.2.201").status_code == 302
    assert sign_in(app, "olga-not-a-user", "x", "192.0.2.202").status_code == 401  # others not slowed


# ---- the limits hold across worker processes (defect 5, admin part) -------------------------

def test_failures_in_another_worker_process_count_here(app, config, store, tmp_path):
    """A second process (another worker, or another node on the same store) signs in wrongly
    five times; this one then refuses that user from that address."""
    add_user(store, "adam", "admin")
    script = textwrap.dedent(f"""
        import re
        from core.config import load_config
        from core.secrets import SecretBox
        from tests.controller.web_harness import build_app
        config = load_config(env={{}})
        config.store.path = {config.store.path!r}
        config.store.url = {config.store.url!r}  # the same store on the PostgreSQL pass
        config.store.key_file = {config.store.key_file!r}
        client = build_app(config, SecretBox.from_key_file(config.store.key_file)).test_client()
        for _ in range(5):
            page = client.get("/login").get_data(as_text=True)
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            reply = client.post("/login", data={{"username": "adam", "password": "wrong",
                                "csrf_token": token}}, environ_base={{"REMOTE_ADDR": "{ELSEWHERE}"}})
            print(reply.status_code)
    """)
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2], timeout=120, check=True)
    assert other.stdout.split() == ["401"] * 5
    assert sign_in(app, "adam", PASSWORD, ELSEWHERE).status_code == 429
    assert sign_in(app, "adam", PASSWORD, ADMIN_HOME).status_code == 302


# ---- sessions end at sign-out, in every worker (defect 13) ----------------------------------

def test_a_cookie_copied_before_sign_out_no_longer_works(app, store):
    add_user(store, "adam", "admin")
    browser = app.test_client()
    assert sign_in(app, "adam", client=browser).status_code == 302
    cookie = browser.get_cookie("oasis_admin").value
    stolen = app.test_client()
    stolen.set_cookie("oasis_admin", cookie)
    assert stolen.get("/users/").status_code == 200
    token = csrf_token(browser, "/")
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 302
    assert stolen.get("/users/").status_code == 302  # the copy is signed out too
    assert stolen.get("/api/v1/sites").status_code == 401


def test_sign_out_in_one_worker_ends_the_session_in_another(config, secrets, store):
    add_user(store, "adam", "admin")
    first, second = build_app(config, secrets), build_app(config, secrets)
    browser = first.test_client()
    assert sign_in(first, "adam", client=browser).status_code == 302
    other_worker = second.test_client()
    other_worker.set_cookie("oasis_admin", browser.get_cookie("oasis_admin").value)
    assert other_worker.get("/").status_code == 200
    browser.post("/logout", data={"csrf_token": csrf_token(browser, "/")})
    assert other_worker.get("/").status_code == 302


def test_an_expired_session_is_refused_whatever_the_cookie_says(app, store):
    add_user(store, "adam", "admin")
    browser = app.test_client()
    sign_in(app, "adam", client=browser)
    with store.transaction() as conn:  # the session's 12 hours have passed
        conn.execute("UPDATE admin_sessions SET expires_at = created_at - 1")
    assert browser.get("/").status_code == 302


def test_a_cookie_of_the_previous_release_signs_no_one_in(app, store):
    user = add_user(store, "adam", "admin")
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["user_id"] = user.id  # what the cookie carried before sessions were stored
    assert browser.get("/").status_code == 302


def test_a_new_password_signs_the_user_out_elsewhere_but_not_the_admin_changing_it(app, store):
    add_user(store, "adam", "admin")
    add_user(store, "olga", "operator")
    admin, olga = app.test_client(), app.test_client()
    sign_in(app, "adam", client=admin)
    sign_in(app, "olga", client=olga)
    token = csrf_token(admin, "/users/")
    admin.post("/users/olga/password", data={"password": "another long password",
                                             "csrf_token": token})
    assert olga.get("/").status_code == 302
    admin.post("/users/adam/password", data={"password": "my new long password",
                                             "csrf_token": csrf_token(admin, "/users/")})
    assert admin.get("/users/").status_code == 200  # own session kept


def test_an_admin_signs_a_user_out_everywhere(app, store):
    add_user(store, "adam", "admin")
    add_user(store, "olga", "operator")
    admin, laptop, phone = app.test_client(), app.test_client(), app.test_client()
    sign_in(app, "adam", client=admin)
    sign_in(app, "olga", client=laptop)
    sign_in(app, "olga", client=phone)
    reply = admin.post("/users/olga/sessions/end", data={"csrf_token": csrf_token(admin, "/users/")})
    assert reply.status_code == 302
    assert laptop.get("/").status_code == 302 and phone.get("/").status_code == 302
    assert admin.get("/").status_code == 200
    entry = audit.entries(store, action_prefix="user.sessions_end")[0]
    assert (entry["actor"], entry["target_id"]) == ("web:adam", "olga")


def test_two_admin_nodes_share_the_session_and_csrf_key_kept_in_the_store(config, secrets,
                                                                           store, tmp_path):
    """Each node builds its own app on the one store: a sign-in form from one node is accepted
    by the other, and the session it opens holds on either; no key file is written."""
    add_user(store, "adam", "admin")
    first, second = build_app(config, secrets), build_app(config, secrets)
    browser = first.test_client()
    token = csrf_token(browser)                       # the form, from the first node
    cookie = browser.get_cookie("oasis_admin")
    other = second.test_client()
    other.set_cookie("oasis_admin", cookie.value)
    signed_in = other.post("/login", data={"username": "adam", "password": PASSWORD,
                                           "csrf_token": token},
                           environ_base={"REMOTE_ADDR": ADMIN_HOME})
    assert signed_in.status_code == 302                # CSRF token accepted by the second node
    browser.set_cookie("oasis_admin", other.get_cookie("oasis_admin").value)
    assert browser.get("/").status_code == 200         # that sign-in holds on the first node
    assert first.secret_key == second.secret_key
    assert not list(tmp_path.glob("*.session"))
    row = store.conn.execute("SELECT value_enc FROM shared_secrets WHERE name = 'admin-session'")
    assert first.secret_key not in row.fetchone()[0].encode()  # encrypted at rest


def test_the_key_of_the_release_before_becomes_the_shared_one(config, secrets):
    """Admins stay signed in across the upgrade: the key the release before derived from the
    store's key file is the one put in the store."""
    key_file = Path(config.store.key_file).read_bytes().strip()
    before = hmac.new(key_file, b"oasis-edge admin session key v1", hashlib.sha256).digest()
    assert build_app(config, secrets).secret_key == before


# ---- API tokens with an expiry (defect 13) --------------------------------------------------

def test_an_expired_token_is_refused_with_its_own_code(app, store):
    add_user(store, "adam", "admin")
    token = auth.create_token(store, "adam", "ci", "test", lifetime_s=3600)
    headers = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/sites", headers=headers).status_code == 200
    with store.transaction() as conn:
        conn.execute("UPDATE api_tokens SET expires_at = ?", (now() - 1,))
    reply = app.test_client().get("/api/v1/sites", headers=headers)
    assert reply.status_code == 401 and error_of(reply)["code"] == "token_expired"
    assert "expired at" in error_of(reply)["message"]
    assert reply.headers["WWW-Authenticate"] == 'Bearer realm="oasis"'
    scrape = app.test_client().get("/metrics", headers=headers,
                                   environ_base={"REMOTE_ADDR": ELSEWHERE})
    assert scrape.status_code == 401 and error_of(scrape)["code"] == "token_expired"


def test_a_revoked_token_is_unauthorized_and_the_others_stay(app, store):
    add_user(store, "adam", "admin")
    keep = auth.create_token(store, "adam", "prometheus", "test", lifetime_s=3600)
    drop = auth.create_token(store, "adam", "old laptop", "test", lifetime_s=3600)
    dropped = next(t for t in auth.list_tokens(store, "adam") if t.name == "old laptop")
    auth.revoke_token(store, "adam", dropped.id, "test")
    client = app.test_client()
    reply = client.get("/api/v1/sites", headers={"Authorization": f"Bearer {drop}"})
    assert reply.status_code == 401 and error_of(reply)["code"] == "unauthorized"
    assert client.get("/api/v1/sites", headers={"Authorization": f"Bearer {keep}"}).status_code == 200
    with pytest.raises(auth.AuthError, match="no token"):
        auth.revoke_token(store, "adam", dropped.id, "test")


@pytest.mark.parametrize("text, seconds", [("12h", 43200.0), ("90d", 7776000.0),
                                           ("4w", 2419200.0), ("never", None), (" 30D ", 2592000.0)])
def test_token_lifetimes(text, seconds):
    assert auth.parse_lifetime(text) == seconds


@pytest.mark.parametrize("text", ["", "0d", "-5d", "90", "1y", "99999999d", "3651d", "1.5d", "٣d"])
def test_token_lifetimes_refused(text):
    with pytest.raises(auth.AuthError) as refused:
        auth.parse_lifetime(text)
    assert refused.value.field == "expires_in"


def test_the_users_page_makes_a_token_with_a_lifetime_and_revokes_it(app, store):
    add_user(store, "adam", "admin")
    admin = app.test_client()
    sign_in(app, "adam", client=admin)
    page = admin.get("/users/").get_data(as_text=True)
    assert '<option value="90d">expires in 90 days</option>' in page  # admin.token_days first
    reply = admin.post("/users/adam/tokens", data={"name": "grafana", "expires_in": "30d",
                                                   "csrf_token": csrf_token(admin, "/users/")})
    assert reply.status_code == 200
    (token,) = auth.list_tokens(store, "adam")
    assert token.expires_at is not None
    assert 30 * 86400 - 60 < token.expires_at - token.created_at <= 30 * 86400
    assert "grafana" in reply.get_data(as_text=True) and 'expires <bdi dir="ltr">20' in reply.get_data(as_text=True)
    refused = admin.post("/users/adam/tokens", data={"name": "x", "expires_in": "forever",
                                                     "csrf_token": csrf_token(admin, "/users/")})
    assert refused.status_code == 422 and len(auth.list_tokens(store, "adam")) == 1
    admin.post(f"/users/adam/tokens/{token.id}/revoke",
               data={"csrf_token": csrf_token(admin, "/users/")})
    assert auth.list_tokens(store, "adam") == []


def test_tokens_made_before_expiry_existed_stay_valid(store_before, config, secrets):
    """Migration controller 0064: existing tokens keep working and never expire (docs/api.md)."""
    path = store_before("controller", "admin_sessions_tokens")
    old = Store(path, migrate=False)
    with old.transaction() as conn:
        conn.execute("INSERT INTO users (username, password_hash, role, created_at) "
                     "VALUES ('adam', 'x', 'admin', 0)")
        conn.execute("INSERT INTO api_tokens (user_id, name, token_sha256, created_at) "
                     "VALUES (1, 'legacy', ?, 0)", (hashlib.sha256(b"oasis_legacy-token").hexdigest(),))
    old.close()
    upgraded = Store(path)
    (token,) = auth.list_tokens(upgraded, "adam")
    assert token.expires_at is None
    assert auth.user_for_token(upgraded, "oasis_legacy-token").username == "adam"
    upgraded.close()


# ---- the CLI: tokens with a lifetime, listed, revoked one by one; users signed out -----------

@pytest.fixture
def oasis(tmp_path):
    """``oasis --config <a fresh config> ...``: the CLI's exit code and output."""
    cfg = tmp_path / "oasis.toml"
    cfg.write_text("[store]\npath = 'oasis.db'\nkey_file = 'oasis.key'\n\n"
                   "[admin]\ntoken_days = 7\n")
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
    invoke("user", "add", "eng", "--role", "operator", "--password", "a-long-password")
    return invoke


def test_cli_tokens_expire_after_token_days_unless_told(oasis):
    assert oasis("token", "create", "eng", "--name", "ci").exit_code == 0
    assert oasis("token", "create", "eng", "--name", "robot", "--expires-in", "never").exit_code == 0
    assert oasis("token", "create", "eng", "--name", "short", "--expires-in", "12h").exit_code == 0
    listed = {t["name"]: t for t in json.loads(oasis("token", "list", "eng", "--json").output)}
    created = dt.datetime.fromisoformat(listed["ci"]["created_at"])
    expires = dt.datetime.fromisoformat(listed["ci"]["expires_at"])
    assert round((expires - created).total_seconds()) == 7 * 86400  # admin.token_days
    assert listed["robot"]["expires_at"] == "never" and not listed["robot"]["expired"]
    short = dt.datetime.fromisoformat(listed["short"]["expires_at"])
    assert round((short - dt.datetime.fromisoformat(listed["short"]["created_at"]))
                 .total_seconds()) == 12 * 3600
    refused = oasis("token", "create", "eng", "--name", "x", "--expires-in", "1y")
    assert refused.exit_code != 0 and "expires in" in refused.output


def test_cli_arguments_that_were_not_utf8_are_refused_not_a_traceback(oasis):
    """Linux hands Python a non-UTF-8 argument as lone surrogates (surrogateescape)."""
    token = oasis("token", "create", "eng", "--name", "ci\udcff")
    assert token.exit_code == 1 and "token name" in token.output
    site = oasis("site", "add", "kap", "--name-ar", "\udcff", "--name-en", "Park", "--kind", "park")
    assert site.exit_code == 1 and "name_ar" in site.output
    assert json.loads(oasis("token", "list", "--json").output) == []


def test_cli_revokes_one_token_by_id(oasis):
    oasis("token", "create", "eng", "--name", "keep")
    oasis("token", "create", "eng", "--name", "drop")
    listed = json.loads(oasis("token", "list", "--json").output)
    drop = next(t["id"] for t in listed if t["name"] == "drop")
    assert oasis("token", "revoke", "eng", "--id", str(drop)).output.strip() == \
        f"revoked token {drop} of eng"
    assert [t["name"] for t in json.loads(oasis("token", "list", "--json").output)] == ["keep"]
    again = oasis("token", "revoke", "eng", "--id", str(drop))
    assert again.exit_code != 0 and "no token" in again.output
    huge = oasis("token", "revoke", "eng", "--id", "99999999999999999999")
    assert huge.exit_code == 2 and "Traceback" not in huge.output


def test_cli_signs_a_user_out_everywhere(oasis, tmp_path):
    store = Store(tmp_path / "oasis.db")
    user = auth.list_users(store)[0]
    auth.start_session(store, user, 3600, "192.0.2.1")
    session_id = auth.start_session(store, user, 3600, "192.0.2.2")
    assert oasis("user", "logout", "eng").output.strip() == "ended 2 session(s)"
    assert auth.session_user(store, session_id) is None
    store.close()
