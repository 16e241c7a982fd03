"""Bad-input corpus for the admin app (pages, sign-in, REST API), against the real app served by
waitress as ``oasis run`` serves it, over real HTTP from a socket (so CR, LF, tabs and bytes that
are not UTF-8 reach the server as a client would send them).

Each case: the documented status (a 4xx; JSON ``{"error": {"code": ...}}`` under ``/api/``, an
HTML page elsewhere), never a 5xx; nothing half-written (every table as before, but for what a
refused sign-in records: its audit line and its count toward a lockout); and the app still
serving afterwards. The cases are counted by surface in `SURFACES`.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

import pytest
from waitress.server import create_server

from controller import auth
from controller.monitoring.snapshot import Snapshot
from controller.web import create_app
from core.config import load_config
from core.secrets import SecretBox
from core.store import Store, now
from netconfig import backups
from tests.controller.web_harness import PASSWORD, add_user
from tests.fleet import add_ap, add_site

pytestmark = pytest.mark.store_backed  # the admin harness keeps its store

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEXT = re.compile(r'name="next" value="([^"]*)"')


# ---- the served app and a client that sends exactly the bytes it is given ------------------------

@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def error(self) -> dict:
        assert self.headers.get("content-type", "").startswith("application/json"), self.text[:200]
        return json.loads(self.body)["error"]


class Admin:
    """The admin app on a real port, its store, and the credentials of its users."""

    def __init__(self, tmp_path, store_url: str = ""):
        config = load_config(env={})
        config.store.path = str(tmp_path / "oasis.db")
        config.store.url = store_url
        config.store.key_file = str(tmp_path / "oasis.key")
        self.store = Store(config.store_location())
        secrets = SecretBox.from_key_file(config.store.key_file)
        self.app = create_app(config, snapshot=Snapshot(), secret_box=secrets)
        self.app.config["ADMIN_DEFAULT_LOCALE"] = "en"  # the messages below are read in English
        self.server = create_server(self.app, host="127.0.0.1", port=0, threads=4,
                                    ident="oasis-edge")
        self.port = self.server.effective_port  # type: ignore[union-attr]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

        add_site(self.store)
        ap = add_ap(self.store, secrets, 1)
        for n in range(2):  # stored config versions, so the diff pages reach the store
            backups.record(self.store, secrets, ap["id"], f"wireless.a='{n}'\n", "backup", "t")
        add_user(self.store, "adam", "admin")
        self.token = {"Authorization": "Bearer " + auth.create_token(
            self.store, "adam", "corpus", "test", lifetime_s=86400)}
        add_user(self.store, "vera", "viewer")
        self.viewer = {"Authorization": "Bearer " + auth.create_token(
            self.store, "vera", "corpus", "test", lifetime_s=86400)}
        expired = auth.create_token(self.store, "adam", "expired", "test", lifetime_s=1)
        with self.store.transaction() as conn:
            conn.execute("UPDATE api_tokens SET expires_at = ? WHERE name = 'expired'",
                         (now() - 60,))
        self.expired = {"Authorization": f"Bearer {expired}"}
        self.cookies: dict[str, str] = {}
        signed_in = self.sign_in("adam", PASSWORD)
        assert signed_in.status == 302, signed_in.text[:300]

    # -- raw HTTP ---------------------------------------------------------------------------------

    def send(self, method: str, target: str | bytes, *, headers: dict | None = None,
             body: bytes = b"", cookies: dict | None = None) -> Reply:
        """One request on a fresh connection, the request line and body exactly as given."""
        lines = [(method.encode() + b" " + (target if isinstance(target, bytes)
                                             else target.encode("utf-8")) + b" HTTP/1.1"),
                 b"Host: 127.0.0.1", b"Connection: close", b"Content-Length: %d" % len(body)]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}".encode("utf-8"))
        if cookies:
            lines.append(b"Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()).encode())
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
            response = http.client.HTTPResponse(sock)
            response.begin()
            data = response.read()
            jar = SimpleCookie()
            for value in response.headers.get_all("Set-Cookie") or []:
                jar.load(value)
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         data, {k: m.value for k, m in jar.items()})

    def api(self, method: str, path: str, body: bytes = b"", *, auth_headers: dict | None = None,
            content_type: str | None = "application/json") -> Reply:
        headers = dict(self.token if auth_headers is None else auth_headers)
        if content_type:
            headers["Content-Type"] = content_type
        return self.send(method, "/api/v1" + path, headers=headers, body=body)

    # -- a browser ------------------------------------------------------------------------------

    def page(self, path: str | bytes, jar: dict | None = None) -> Reply:
        reply = self.send("GET", path, cookies=self.cookies if jar is None else jar)
        (self.cookies if jar is None else jar).update(reply.cookies)
        return reply

    def form(self, path: str, fields: dict | bytes, *, token_from: str = "/",
             jar: dict | None = None) -> Reply:
        """POST a form as the signed-in browser (or ``jar``) would, with a fresh CSRF token."""
        jar = self.cookies if jar is None else jar
        token = _CSRF.search(self.page(token_from, jar).text)
        assert token, f"no CSRF token on {token_from}"
        if isinstance(fields, dict):
            body = urlencode({**fields, "csrf_token": token.group(1)}).encode()
        else:
            body = fields + b"&csrf_token=" + token.group(1).encode()
        reply = self.send("POST", path, cookies=jar, body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
        jar.update(reply.cookies)
        return reply

    def sign_in(self, username: str, password: str, **extra) -> Reply:
        return self.form("/login", {"username": username, "password": password, **extra},
                         token_from="/login")

    def close(self) -> None:
        self.server.close()
        self.store.close()


@pytest.fixture(scope="module")
def admin(tmp_path_factory, module_store_url):
    served = Admin(tmp_path_factory.mktemp("admin"), module_store_url)
    yield served
    served.close()


# ---- what every case checks --------------------------------------------------------------------

#: What a refused request may still write: a failed sign-in's audit line and its count toward a
#: lockout, sessions, and a token's last use. Everything else must stay as it was.
_MAY_CHANGE = {"rate_limit_events", "admin_sessions", "admin_login_addresses",
               "schema_migrations"}


def fingerprint(store: Store) -> dict[str, list[str]]:
    """Every table's rows, but for what `_MAY_CHANGE` says a refusal may write."""
    tables = [name for name in store.db.table_names() if not name.startswith("sqlite_")]
    shot = {}
    for table in tables:
        if table in _MAY_CHANGE:
            continue
        cursor = store.conn.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        rows = []
        for row in cursor:
            item = dict(zip(names, row))
            if table == "api_tokens":
                item.pop("last_used_at")
            if table == "audit_log" and str(item["action"]).startswith("user.login"):
                continue
            rows.append(repr(sorted(item.items())))
        shot[table] = sorted(rows)
    return shot


def still_serving(admin: Admin) -> None:
    assert admin.api("GET", "/sites", content_type=None).status == 200
    assert admin.page("/").status == 200  # the module's browser is still signed in
    assert admin.send("GET", "/login").status == 200


def check(admin: Admin, reply: Reply, status: int, code: str | None, path: str | bytes,
          before: dict) -> None:
    assert reply.status < 500, reply.text[:500]
    assert reply.status == status, reply.text[:500]
    api = (path if isinstance(path, str) else path.decode("latin-1")).startswith("/api/")
    if api:
        error = reply.error()
        if code is not None:
            assert error["code"] == code, error
    elif status >= 400:
        assert reply.headers.get("content-type", "").startswith("text/html")
        assert "<!doctype html>" in reply.text.lower()
    assert fingerprint(admin.store) == before, "a refused request wrote to the store"
    still_serving(admin)


def next_in_form(reply: Reply) -> str:
    """The return address the sign-in page carries in its form."""
    found = _NEXT.search(reply.text)
    assert found, "no next field on the sign-in page"
    return found.group(1)


def forget_failures(admin: Admin) -> None:
    """Sign-in cases send wrong passwords; each case starts with no lockout in force."""
    with admin.store.transaction() as conn:
        conn.execute("DELETE FROM rate_limit_events")


# ---- the issue's cases ---------------------------------------------------------------------------

def test_issue_crlf_in_next_on_sign_in_is_a_400_page(admin):
    """Defect 12: CR/LF in ``next`` on POST /login was a 500 (a header with a newline)."""
    forget_failures(admin)
    before = fingerprint(admin.store)
    jar: dict = {}
    reply = admin.form("/login", {"username": "adam", "password": PASSWORD,
                                  "next": "/\r\nSet-Cookie: evil=1"}, token_from="/login", jar=jar)
    check(admin, reply, 400, None, "/login", before)
    assert "location" not in reply.headers and "evil" not in reply.cookies
    assert "not a page of this site" in reply.text
    assert admin.page("/", jar).status == 302  # not signed in


def test_issue_diff_with_a_20_digit_version_is_a_400_page(admin):
    """Defect 12: ``diff?from=99999999999999999999`` was a 500 (OverflowError in SQLite)."""
    before = fingerprint(admin.store)
    path = "/config/aps/ap-001/diff?from=99999999999999999999&to=1"
    reply = admin.page(path)
    check(admin, reply, 400, None, path, before)
    assert "&#39;from&#39; must be a whole number from 1 to 2147483648" in reply.text
    assert admin.page("/config/aps/ap-001/diff?from=1&to=2").status == 200  # real ones work


def test_issue_lone_surrogate_in_a_site_is_a_400_with_a_code(admin):
    """Defect 12: ``"\\ud800"`` in JSON posted to /api/v1/sites was a 500 (UTF-8 encoding)."""
    before = fingerprint(admin.store)
    body = b'{"slug": "x-park", "kind": "park", "name_en": "\\ud800", "name_ar": "x"}'
    reply = admin.api("POST", "/sites", body)
    check(admin, reply, 400, "bad_json", "/api/v1/sites", before)
    assert reply.error()["field"] == "name_en"


def test_issue_tab_in_next_does_not_redirect_off_site(admin):
    """Defect 7: ``next=/%09/evil`` gave ``Location: //evil``."""
    forget_failures(admin)
    before = fingerprint(admin.store)
    jar: dict = {}
    login_page = admin.page("/login?next=/%09/evil", jar)
    assert next_in_form(login_page) == ""  # dropped, not carried into the form
    reply = admin.form("/login", b"username=adam&password=" + quote(PASSWORD).encode()
                       + b"&next=/%09/evil", token_from="/login", jar=jar)
    check(admin, reply, 400, None, "/login", before)
    assert "location" not in reply.headers


# ---- sign-in: where it may send the browser afterwards -------------------------------------------

#: Return addresses that are not a page of this site, as they arrive in the form (decoded once).
OFF_SITE = [
    "//evil.example", "///evil.example", "////evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example",
    "/%09/evil.example", "/%0d%0a/evil.example", "/%0a/evil.example", "/%2F%2Fevil.example",
    "/%2f/evil.example", "/%5Cevil.example", "/%5c%5cevil.example", "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example", "http://evil.example/", "https://evil.example/x",
    "HTTPS://evil.example", "https:evil.example", "//evil.example@127.0.0.1", "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "evil.example", " /evil.example",
    "/.//evil.example", "/\x00/evil.example", "/\u2028/evil.example", "/\u200e/evil.example",
    "/\ufeff/evil.example", "/" + "a" * 5000,
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_sign_in_refuses_a_return_address_off_site(admin, target):
    forget_failures(admin)
    before = fingerprint(admin.store)
    jar: dict = {}
    shown = admin.page("/login?" + urlencode({"next": target}), jar)
    assert shown.status == 200 and next_in_form(shown) == ""
    reply = admin.form("/login", {"username": "adam", "password": PASSWORD, "next": target},
                       token_from="/login", jar=jar)
    check(admin, reply, 400, None, "/login", before)
    assert "location" not in reply.headers
    assert admin.page("/", jar).status == 302


@pytest.mark.parametrize("target", ["/aps/ap-001", "/config/jobs?limit=5",
                                    "/reports/?site=%D9%85%D9%85%D8%B4%D9%89", "/audit/?actor=web:adam"])
def test_sign_in_returns_to_a_page_of_this_site(admin, target):
    forget_failures(admin)
    jar: dict = {}
    reply = admin.form("/login", {"username": "adam", "password": PASSWORD, "next": target},
                       token_from="/login", jar=jar)
    assert reply.status == 302 and reply.headers["location"] == target
    admin.form("/logout", {}, jar=jar)


# ---- sign-in: the form itself ----------------------------------------------------------------

SIGN_IN_FORMS = [
    # (case, body after the CSRF token is added, status)
    ("username 100k characters", {"username": "a" * 100_000, "password": "x"}, 401),
    ("password 900k characters", {"username": "adam", "password": "x" * 900_000}, 401),
    ("NUL in both", {"username": "adam\x00", "password": "\x00"}, 401),
    ("empty", {"username": "", "password": ""}, 401),
    ("no fields", {}, 401),
    ("Arabic username", {"username": "مدير", "password": "كلمة سر"}, 401),
    ("RTL override", {"username": "\u202eadam", "password": PASSWORD}, 401),
    ("invalid UTF-8", b"username=%ff%fe&password=%ed%a0%80", 401),
    ("repeated fields", b"username=adam&username=vera&password=x&password=y", 401),
]


@pytest.mark.parametrize("case, fields, status", SIGN_IN_FORMS, ids=[c[0] for c in SIGN_IN_FORMS])
def test_sign_in_form_with_odd_fields(admin, case, fields, status):
    forget_failures(admin)
    before = fingerprint(admin.store)
    jar: dict = {}
    reply = admin.form("/login", fields, token_from="/login", jar=jar)
    check(admin, reply, status, None, "/login", before)
    assert admin.page("/", jar).status == 302


def test_sign_in_without_csrf_token_or_over_a_mebibyte(admin):
    forget_failures(admin)
    before = fingerprint(admin.store)
    plain = admin.send("POST", "/login", body=b"username=adam&password=x",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(admin, plain, 400, None, "/login", before)
    huge = admin.send("POST", "/login", body=b"username=adam&password=" + b"x" * (1 << 20),
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    check(admin, huge, 413, None, "/login", before)
    as_json = admin.send("POST", "/login", body=b'{"username": "adam"}',
                         headers={"Content-Type": "application/json"})
    check(admin, as_json, 400, None, "/login", before)


# ---- the API: every write with malformed bodies ----------------------------------------------

#: Every API route that takes a body, with a path whose resources exist (so the body is judged).
WRITES = [
    ("POST", "/sites"), ("PATCH", "/sites/amanah-walkway"), ("POST", "/aps"),
    ("PATCH", "/aps/ap-001"), ("PUT", "/aps/ap-001/config/variables"),
    ("POST", "/aps/ap-001/hostkey"), ("PUT", "/config/variables/global"),
    ("PUT", "/config/variables/site/amanah-walkway"), ("PUT", "/config/variables/group/north"),
    ("POST", "/provisioning/jobs"), ("POST", "/provisioning/pending/02:00:00:00:00:99/adopt"),
]

#: (name, body, content type, status, code): the same answer from every route in WRITES.
BODIES = [
    ("not JSON", b"{", "application/json", 400, "bad_json"),
    ("empty", b"", "application/json", 400, "bad_json"),
    ("text/plain", b"{}", "text/plain", 415, "unsupported_media_type"),
    ("no content type", b"{}", None, 415, "unsupported_media_type"),
    ("form encoded", b"a=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("bad UTF-8", b'{"name": "\xff\xfe"}', "application/json", 400, "bad_json"),
    ("UTF-16", '{"name": "x"}'.encode("utf-16"), "application/json", 400, "bad_json"),
    ("UTF-8 BOM", b'\xef\xbb\xbf{"name": "x"}', "application/json", 400, "bad_json"),
    ("array", b"[]", "application/json", 422, "invalid_body"),
    ("string", b'"x"', "application/json", 422, "invalid_body"),
    ("number", b"1", "application/json", 422, "invalid_body"),
    ("null", b"null", "application/json", 422, "invalid_body"),
    ("NaN", b'{"lat": NaN}', "application/json", 400, "bad_json"),
    ("-Infinity", b'{"lat": -Infinity}', "application/json", 400, "bad_json"),
    ("100,000 nested arrays", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "application/json", 400, "bad_json"),
    ("40 nested objects", b'{"a": ' + b'{"b": ' * 40 + b"1" + b"}" * 40 + b"}",
     "application/json", 422, "invalid_body"),
    ("5,000-digit integer", b'{"lat": ' + b"9" * 5000 + b"}", "application/json", 400, "bad_json"),
    ("lone high surrogate", b'{"name": "\\ud800"}', "application/json", 400, "bad_json"),
    ("lone low surrogate in a key", b'{"\\udfff": 1}', "application/json", 400, "bad_json"),
    ("surrogate deep inside", b'{"ssids": [{"id": "p", "ssid": "\\ud83d"}]}',
     "application/json", 400, "bad_json"),
    ("over 1 MiB", b'{"name": "' + b"x" * (1 << 20) + b'"}', "application/json", 413,
     "body_too_large"),
]


@pytest.mark.parametrize("method, path", WRITES, ids=[f"{m} {p}" for m, p in WRITES])
@pytest.mark.parametrize("name, body, content_type, status, code", BODIES,
                         ids=[b[0] for b in BODIES])
def test_api_write_with_a_malformed_body(admin, method, path, name, body, content_type, status,
                                         code):
    before = fingerprint(admin.store)
    reply = admin.api(method, path, body, content_type=content_type)
    check(admin, reply, status, code, "/api/v1" + path, before)


# ---- the API: odd values in well-formed bodies ---------------------------------------------------

_SITE = {"slug": "x-park", "kind": "park", "name_en": "X Park", "name_ar": "منتزه"}
_AP = {"name": "ap-077", "mac": "02:00:00:00:00:77", "mgmt_ip": "10.0.0.77",
       "site": "amanah-walkway"}
VALUES = [
    # (case, method, path, body, status, code, field)
    ("site slug as a list", "POST", "/sites", {**_SITE, "slug": ["x"]}, 422, "invalid_field", "slug"),
    ("site name 100k", "POST", "/sites", {**_SITE, "name_en": "x" * 100_000}, 422, "invalid_field",
     "name_en"),
    ("site name with NUL", "POST", "/sites", {**_SITE, "name_ar": "a\x00b"}, 422, "invalid_field",
     "name_ar"),
    ("site lat 1e400", "POST", "/sites", json.dumps(_SITE)[:-1].encode() + b', "lat": 1e400}',
     422, "invalid_field", "lat"),
    ("site lat 2**64", "POST", "/sites", {**_SITE, "lat": 2 ** 64}, 422, "invalid_field", "lat"),
    ("site lat true", "POST", "/sites", {**_SITE, "lat": True}, 422, "invalid_field", "lat"),
    ("site lat object", "POST", "/sites", {**_SITE, "lat": {"a": 1}}, 422, "invalid_field", "lat"),
    ("site unknown field", "POST", "/sites", {**_SITE, "owner": "x"}, 422, "unknown_field", "owner"),
    ("site missing names", "POST", "/sites", {"slug": "x-park", "kind": "park"}, 422,
     "missing_field", None),
    ("site slug 20 digits", "PATCH", "/sites/99999999999999999999", {"name_en": "x"}, 404,
     "not_found", None),
    ("ap mac garbage", "POST", "/aps", {**_AP, "mac": "zz:zz"}, 422, "invalid_mac", "mac"),
    ("ap address 999.1.1.1", "POST", "/aps", {**_AP, "mgmt_ip": "999.1.1.1"}, 422, "invalid_ip",
     "mgmt_ip"),
    ("ap unknown site", "POST", "/aps", {**_AP, "site": "nowhere"}, 422, "unknown_site", "site"),
    ("ap snmp_port 2**63", "POST", "/aps", {**_AP, "snmp_port": 2 ** 63}, 422, "invalid_field",
     "snmp_port"),
    ("ap snmp_port -1", "POST", "/aps", {**_AP, "snmp_port": -1}, 422, "invalid_field",
     "snmp_port"),
    ("ap capacity 1.5", "POST", "/aps", {**_AP, "capacity": 1.5}, 422, "invalid_field", "capacity"),
    ("ap name surrogate pair as text", "POST", "/aps", {**_AP, "name": "ap-\U0001f4a1"}, 422,
     "invalid_field", "name"),
    ("ap 20-digit id", "PATCH", "/aps/99999999999999999999", {"capacity": 5}, 404, "not_found",
     None),
    ("ap Arabic-Indic id", "PATCH", "/aps/١", {"capacity": 5}, 404, "not_found", None),
    ("ap superscript id", "PATCH", "/aps/²", {"capacity": 5}, 404, "not_found", None),
    ("job version 2**63", "POST", "/provisioning/jobs",
     {"operation": "rollback", "target": "ap-001", "version": 2 ** 63}, 422, "invalid_field",
     "version"),
    ("job canary -1", "POST", "/provisioning/jobs",
     {"operation": "push", "target": "ap-001", "canary": -1}, 422, "invalid_field", "canary"),
    ("job workers 1e300", "POST", "/provisioning/jobs",
     {"operation": "push", "target": "ap-001", "workers": 1e300}, 422, "invalid_field", "workers"),
    ("job unknown operation", "POST", "/provisioning/jobs", {"operation": "format", "target": "all"},
     422, "invalid_field", "operation"),
    ("job unknown target", "POST", "/provisioning/jobs", {"operation": "backup", "target": "mars"},
     422, None, "target"),
    ("job target 100k", "POST", "/provisioning/jobs", {"operation": "backup", "target": "x" * 100_000},
     422, None, "target"),
    ("job unknown field", "POST", "/provisioning/jobs",
     {"operation": "backup", "target": "all", "rm": "-rf"}, 422, "unknown_field", None),
    ("variables channel 2**70", "PUT", "/config/variables/global",
     {"radios": {"2g": {"channel": 2 ** 70}}}, 422, None, None),
    ("variables ssid 100k", "PUT", "/config/variables/global",
     {"ssids": [{"id": "public", "ssid": "x" * 100_000}]}, 422, None, None),
    ("variables 9 levels", "PUT", "/config/variables/global",
     {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": 1}}}}}}}}}, 422, "invalid_body", "a"),
    ("group that does not exist", "PUT", "/config/variables/group/" + "g" * 5000, {}, 404, None,
     None),
    ("host key fingerprint as a list", "POST", "/aps/ap-001/hostkey", {"fingerprint": ["x"]}, 422,
     None, None),
    ("adopt an unknown MAC", "POST", "/provisioning/pending/02:00:00:00:00:99/adopt",
     {"name": "ap-9"}, 404, "not_found", None),
    ("adopt a 20-digit id", "POST", "/provisioning/pending/99999999999999999999/adopt",
     {"name": "ap-9"}, 404, "not_found", None),
    ("adopt neither MAC nor address", "POST", "/provisioning/pending/zz/adopt", {"name": "ap-9"},
     422, "invalid_ip", "mgmt_ip"),
    ("ignore a 20-digit id", "POST", "/provisioning/pending/99999999999999999999/ignore", {}, 404,
     "not_found", None),
]


@pytest.mark.parametrize("case, method, path, body, status, code, field", VALUES,
                         ids=[v[0] for v in VALUES])
def test_api_write_with_odd_values(admin, case, method, path, body, status, code, field):
    before = fingerprint(admin.store)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    reply = admin.api(method, quote(path, safe="/:"), raw)
    check(admin, reply, status, code, "/api/v1" + path, before)
    if field is not None:
        assert reply.error()["field"] == field


def test_api_deletes_of_what_does_not_exist(admin):
    for path in ("/sites/99999999999999999999", "/sites/nowhere", "/aps/99999999999999999999",
                 "/aps/%E2%80%AE", "/aps/" + "x" * 5000):
        before = fingerprint(admin.store)
        check(admin, admin.api("DELETE", path, content_type=None), 404, "not_found",
              "/api/v1" + path, before)


# ---- the API: query strings, path parts and authentication ------------------------------------

#: Values no integer parameter takes.
NOT_AN_INT = ["99999999999999999999", "-1", "0", "abc", "1.5", "1e3", "%C2%B2", "9" * 5000,
              "0x10", "%00", "%ED%A0%80", "NaN"]
INT_PARAMS = ["/provisioning/jobs?limit={}", "/aps/ap-001/events?limit={}", "/alerts?limit={}",
              "/audit?limit={}", "/aps/ap-001/config/diff?from={}&to=1",
              "/aps/ap-001/config/diff?from=1&to={}"]


@pytest.mark.parametrize("value", NOT_AN_INT)
@pytest.mark.parametrize("template", INT_PARAMS)
def test_api_integer_parameters_refuse_what_is_not_one(admin, template, value):
    before = fingerprint(admin.store)
    path = template.format(value)
    check(admin, admin.api("GET", path, content_type=None), 422, "invalid_parameter",
          "/api/v1" + path, before)


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1e400", "nan", "inf",
                                   "9" * 5000, "2026-13-45", "%ED%A0%80"])
@pytest.mark.parametrize("name", ["since", "until"])
def test_api_time_parameters_refuse_what_is_not_a_time(admin, name, value):
    before = fingerprint(admin.store)
    path = f"/aps/ap-001/metrics?{name}={value}"
    check(admin, admin.api("GET", path, content_type=None), 422, "invalid_parameter",
          "/api/v1" + path, before)


@pytest.mark.parametrize("path", [
    "/provisioning/jobs/99999999999999999999", "/provisioning/jobs/9223372036854775808",
    "/aps/99999999999999999999", "/aps/99999999999999999999/status",
    "/aps/99999999999999999999/events", "/aps/99999999999999999999/config/render",
    "/sites/99999999999999999999", "/branches/99999999999999999999",
    "/aps/%ED%A0%80", "/sites/%00", "/aps/" + "9" * 5000, "/nothing-here"])
def test_api_path_parts_that_name_nothing_are_404(admin, path):
    before = fingerprint(admin.store)
    check(admin, admin.api("GET", path, content_type=None), 404, "not_found",
          "/api/v1" + path, before)


AUTH_CASES = [
    ("no header", {}, 401, "unauthorized"),
    ("basic scheme", {"Authorization": "Basic YWRhbTp4"}, 401, "unauthorized"),
    ("empty bearer", {"Authorization": "Bearer "}, 401, "unauthorized"),
    ("unknown token", {"Authorization": "Bearer oasis_" + "A" * 43}, 401, "unauthorized"),
    ("not our prefix", {"Authorization": "Bearer ghp_abc"}, 401, "unauthorized"),
    ("10k token", {"Authorization": "Bearer oasis_" + "x" * 10_000}, 401, "unauthorized"),
    ("Arabic token", {"Authorization": "Bearer oasis_رمز"}, 401, "unauthorized"),
]


@pytest.mark.parametrize("case, headers, status, code", AUTH_CASES, ids=[c[0] for c in AUTH_CASES])
def test_api_authentication_refusals(admin, case, headers, status, code):
    before = fingerprint(admin.store)
    reply = admin.api("POST", "/sites", json.dumps(_SITE).encode(), auth_headers=headers)
    check(admin, reply, status, code, "/api/v1/sites", before)


def test_api_expired_token_and_role_refusals(admin):
    before = fingerprint(admin.store)
    expired = admin.api("GET", "/sites", auth_headers=admin.expired, content_type=None)
    check(admin, expired, 401, "token_expired", "/api/v1/sites", before)
    viewer = admin.api("POST", "/sites", json.dumps(_SITE).encode(), auth_headers=admin.viewer)
    check(admin, viewer, 403, "forbidden", "/api/v1/sites", before)
    cookie_write = admin.send("POST", "/api/v1/sites", cookies=admin.cookies,
                              body=json.dumps(_SITE).encode(),
                              headers={"Content-Type": "application/json"})
    check(admin, cookie_write, 401, "unauthorized", "/api/v1/sites", before)


# ---- pages: query strings and path parts -------------------------------------------------------

PAGE_CASES = [
    # (path, status): bad integers are a 400 page; an unknown id is a 404 page; filters that
    # match nothing show an empty page.
    ("/config/aps/ap-001/diff?from=99999999999999999999&to=1", 400),
    ("/config/aps/ap-001/diff?from=1&to=-1", 400),
    ("/config/aps/ap-001/diff?from=%C2%B2&to=1", 400),
    ("/config/aps/ap-001/diff?from=%D9%A1&to=1", 400),
    ("/config/aps/ap-001/diff?from=1_0&to=1", 400),
    ("/config/aps/ap-001/diff?from=+1&to=1", 400),
    ("/config/aps/ap-001/diff?from=" + "9" * 5000 + "&to=1", 400),
    ("/config/aps/ap-001/diff?from=abc&to=1", 400),
    ("/config/jobs/99999999999999999999", 404),
    ("/config/jobs/9223372036854775808", 404),
    ("/config/aps/99999999999999999999", 404),
    ("/aps/99999999999999999999", 404),
    ("/aps/%C2%B2", 404),
    ("/aps/%ED%A0%80", 404),
    ("/sites/99999999999999999999/edit", 404),
    ("/branches/99999999999999999999", 404),
    ("/reports/99999999999999999999", 404),
    ("/reports/photos/99999999999999999999.jpg", 404),
    ("/aps/ap-001?hours=99999999999999999999", 200),
    ("/aps/ap-001?hours=-5", 200),
    ("/aps/?site=99999999999999999999&state=%00", 404),  # no such site
    ("/aps/?site=%ED%A0%80", 404),
    ("/aps/?state=%00", 200),
    ("/audit/?actor=" + "x" * 5000 + "&action=%0d%0a", 200),
    ("/reports/?status=%00&category=%ED%A0%80&priority=99999999999999999999&site=x&overdue=1", 200),
    ("/login?next=" + "%ED%A0%80" * 100, 200),
]


@pytest.mark.parametrize("path, status", PAGE_CASES)
def test_page_query_strings_and_path_parts(admin, path, status):
    before = fingerprint(admin.store)
    check(admin, admin.page(path), status, None, path, before)


def test_raw_bytes_in_a_page_address(admin):
    """Bytes that are not UTF-8 on the request line are refused by the server before the app
    (waitress: 400 "Bad URI"); a raw tab in a query reaches the app and is dropped from ``next``."""
    for target in (b"/aps/\xff\xfe", b"/config/jobs/\xed\xa0\x80", b"/audit/?actor=\xff"):
        before = fingerprint(admin.store)
        reply = admin.send("GET", target, cookies=admin.cookies)
        assert reply.status == 400 and "Bad URI" in reply.text
        assert fingerprint(admin.store) == before
        still_serving(admin)
    before = fingerprint(admin.store)
    reply = admin.send("GET", b"/login?next=/\t/evil", cookies={})
    check(admin, reply, 200, None, "/login", before)
    assert next_in_form(reply) == ""


# ---- pages: forms with odd values ------------------------------------------------------------

FORM_CASES = [
    # (path, fields, status, what the page must say): a refused form shows the page with the
    # field in error (422), or goes back to where it came from with a message (302).
    ("/sites/new", {"slug": "x", "kind": "park", "name_en": "x" * 100_000, "name_ar": "x"}, 422,
     "at most 200"),
    ("/sites/new", {"slug": "x-park", "kind": "park", "name_en": "X", "name_ar": "X",
                    "lat": "99999999999999999999"}, 422, None),
    ("/aps/new", {"name": "ap-9", "mac": "02:00:00:00:00:09", "mgmt_ip": "10.0.0.9",
                  "site": "amanah-walkway", "snmp_port": "99999999999999999999"}, 422, None),
    ("/aps/new", {"name": "ap\x00", "mac": "x", "mgmt_ip": "x", "site": "x"}, 422, None),
    ("/users/new", {"username": "a" * 5000, "password": "x", "role": "root"}, 422, None),
    ("/users/adam/tokens", {"name": "ci", "expires_in": "99999999999999999999d"}, 422,
     "expires in"),
    ("/users/adam/tokens", {"name": "x" * 5000, "expires_in": "30d"}, 422, "token name"),
    ("/users/adam/tokens/99999999999999999999/revoke", {}, 404, None),
    ("/users/adam/tokens/424242/revoke", {}, 302, None),
    ("/users/nobody/role", {"role": "admin"}, 302, None),
    ("/config/aps/ap-001/variables", {"variables": "[" * 100_000}, 302, None),
    ("/config/aps/ap-001/variables", {"variables": '{"a": "\\ud800"}'}, 302, None),
    ("/config/aps/ap-001/variables", {"variables": '{"a": NaN}'}, 302, None),
    ("/config/aps/ap-001/variables", {"variables": '{"a":' * 40 + "1" + "}" * 40}, 302, None),
    ("/config/aps/ap-001/variables", {"variables": "[1, 2]"}, 302, None),
    ("/config/jobs/new", {"operation": "rollback", "target": "ap-001", "version": "²"}, 302, None),
    ("/config/jobs/new", {"operation": "rollback", "target": "ap-001",
                          "version": "99999999999999999999"}, 302, None),
    ("/config/jobs/new", {"operation": "nope", "target": "x", "back": "/\t/evil.example"}, 302,
     None),
    ("/config/pending/99999999999999999999/adopt", {"name": "x"}, 404, None),
    ("/reports/99999999999999999999/move", {"site": "x"}, 404, None),
]


@pytest.mark.parametrize("path, fields, status, says", FORM_CASES,
                         ids=[f"{c[0]} {i}" for i, c in enumerate(FORM_CASES)])
def test_page_forms_with_odd_values(admin, path, fields, status, says):
    before = fingerprint(admin.store)
    reply = admin.form(path, fields)
    check(admin, reply, status, None, path, before)
    if status == 302:
        assert reply.headers["location"].startswith("/")
        assert not reply.headers["location"].startswith(("//", "/\\"))
    if says:
        assert says in reply.text


# ---- the count -----------------------------------------------------------------------------------

#: Cases in this corpus, by surface (docs/admin-guide.md quotes them; keep both in step).
SURFACES = {
    "the issue's four": 4,
    "sign-in return address": len(OFF_SITE) + 4,
    "sign-in form": len(SIGN_IN_FORMS) + 3,
    "API bodies": len(WRITES) * len(BODIES),
    "API values": len(VALUES) + 5,
    "API query strings": len(INT_PARAMS) * len(NOT_AN_INT) + 2 * 8,
    "API path parts": 12,
    "API authentication": len(AUTH_CASES) + 3,
    "page addresses": len(PAGE_CASES) + 4,
    "page forms": len(FORM_CASES),
}
CORPUS_SIZE = 485


def test_the_corpus_is_counted():
    assert sum(SURFACES.values()) == CORPUS_SIZE, SURFACES
