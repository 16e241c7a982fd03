"""The admin UI's languages: Arabic (right to left, the default) and English, chosen per user,
by the header's switch or by the browser; the catalogue covers every message; local time."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from click.testing import CliRunner

from controller import auth
from controller.cli import cli
from controller.web import i18n
from tests.controller.web_harness import add_user, build_app, csrf_token, login

ROOT = Path(__file__).resolve().parents[2]
#: Where the admin's messages are marked: its pages and the alert notifications it sends.
SOURCES = (ROOT / "controller" / "web", ROOT / "controller" / "notify")
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd0-9.]*[sd]|%[sd]")


def _extracted() -> dict[str, tuple[str, int]]:
    """Every message id marked in the admin's templates and code (pages, e-mails): id ->
    (file, line)."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "N_": None,
                "ngettext": (1, 2), "lazy_ngettext": (1, 2)}
    found = {}
    for folder in SOURCES:
        if not folder.is_dir():
            continue
        for filename, lineno, message, _comments, _context in extract_from_dir(
                str(folder), method_map=method_map, keywords=keywords):
            for msgid in (message if isinstance(message, tuple) else (message,)):
                if msgid:
                    found.setdefault(msgid, (f"{folder.name}/{filename}", lineno))
    return found


def _catalogue(locale: str):
    with (i18n.TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_every_marked_message_is_translated(locale):
    catalogue = _catalogue(locale)
    translated = {}
    for message in catalogue:
        if message.id and not message.fuzzy:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if all(strings):
                for msgid in ids:
                    translated[msgid] = strings
    extracted = _extracted()
    assert len(extracted) > 30  # the extraction itself works
    missing = sorted(f"{where[0]}:{where[1]}: {msgid!r}" for msgid, where in extracted.items()
                     if msgid not in translated)
    assert not missing, f"{locale}: {len(missing)} messages without a translation:\n" + \
        "\n".join(missing)
    wrong = [msgid for msgid in extracted if msgid in translated and any(
        sorted(_PLACEHOLDER.findall(s)) != sorted(_PLACEHOLDER.findall(msgid))
        for s in translated[msgid][:1])]
    assert not wrong, f"{locale}: placeholders differ from the msgid in {wrong}"


def test_no_compiled_catalogue_is_kept():
    assert not list(i18n.TRANSLATIONS.rglob("*.mo"))


@pytest.fixture
def app(config, secrets, store, snapshot):
    return build_app(config, secrets, snapshot)


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_arabic_by_default_and_right_to_left(app):
    app.config["ADMIN_DEFAULT_LOCALE"] = "ar"  # the shipped default (the harness reads English)
    page = _html(app.test_client().get("/login"))
    assert '<html lang="ar" dir="rtl">' in page
    assert "تسجيل الدخول" in page
    assert app.test_client().get("/login").headers["Content-Language"] == "ar"


def test_the_browser_language_then_a_query_switch(app):
    client = app.test_client()
    page = _html(client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert '<html lang="en" dir="ltr">' in page and "Sign in" in page
    switched = client.get("/login?lang=ar", headers={"Accept-Language": "en"})
    assert 'dir="rtl"' in _html(switched) and "lang=ar" in switched.headers["Set-Cookie"]
    # The cookie now wins over the browser's language.
    assert 'lang="ar"' in _html(client.get("/login", headers={"Accept-Language": "en"}))


def test_a_users_own_language_wins_and_the_switch_saves_it(app, store):
    add_user(store, "olga", "operator")
    auth.set_locale(store, "olga", "ar", "test")
    client = app.test_client()
    assert login(client, "olga").status_code == 302
    page = _html(client.get("/", headers={"Accept-Language": "en"}))
    assert 'dir="rtl"' in page and "لوحة المتابعة" in page
    token = csrf_token(client, "/")
    response = client.post("/language", data={"lang": "en", "back": "/aps/?site=1",
                                              "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/aps/?site=1"
    assert [u.locale for u in auth.list_users(store) if u.username == "olga"] == ["en"]
    page = _html(client.get("/", headers={"Accept-Language": "ar"}))
    assert 'dir="ltr"' in page and "Dashboard" in page
    # Another site as the place to return to is refused: back to the dashboard.
    response = client.post("/language", data={"lang": "ar", "back": "//evil.example/",
                                              "csrf_token": token})
    assert response.headers["Location"] == "/"


def test_an_admin_sets_a_users_language_on_the_users_page(app, store):
    add_user(store, "ada", "admin")
    add_user(store, "olga", "operator")
    client = app.test_client()
    login(client, "ada")
    page = client.get("/users/").get_data(as_text=True)
    assert 'action="/users/olga/locale"' in page and "العربية" in page
    token = csrf_token(client, "/users/")
    response = client.post("/users/olga/locale", data={"locale": "ar", "csrf_token": token})
    assert response.status_code == 302
    assert {u.username: u.locale for u in auth.list_users(store)}["olga"] == "ar"
    client.post("/users/olga/locale", data={"locale": "", "csrf_token": token})
    assert {u.username: u.locale for u in auth.list_users(store)}["olga"] is None
    refused = client.post("/users/olga/locale", data={"locale": "fr", "csrf_token": token},
                          follow_redirects=True)
    assert "language must be one of ar, en" in refused.get_data(as_text=True)
    olga = app.test_client()
    login(olga, "olga")
    assert olga.get("/users/").status_code == 403  # admins only


def test_the_switch_needs_the_csrf_token(app):
    assert app.test_client().post("/language", data={"lang": "en"}).status_code == 400


def test_user_locale_is_checked_and_audited(store):
    with pytest.raises(auth.AuthError) as refused:
        auth.create_user(store, "fahad", "long enough password", "viewer", "test", locale="fr")
    assert refused.value.field == "locale"
    user = auth.create_user(store, "fahad", "long enough password", "viewer", "test",
                            locale="en")
    assert user.locale == "en"
    auth.set_locale(store, "fahad", None, "test")
    assert auth.list_users(store)[0].locale is None


def test_cli_user_add_with_a_locale(tmp_path):
    cfg = tmp_path / "oasis.toml"
    cfg.write_text("[store]\npath = 'oasis.db'\nkey_file = 'oasis.key'\n")
    runner = CliRunner()

    def oasis(*args):
        result = runner.invoke(cli, ["--config", str(cfg), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output
    oasis("user", "add", "noura", "--role", "operator", "--locale", "en",
          "--password", "long enough password")
    assert json.loads(oasis("user", "list", "--json"))[0]["locale"] == "en"
    oasis("user", "locale", "noura", "browser")
    assert json.loads(oasis("user", "list", "--json"))[0]["locale"] is None
    refused = runner.invoke(cli, ["--config", str(cfg), "user", "locale", "noura", "fr"])
    assert refused.exit_code == 2


# ---- local time, sentences, details ----------------------------------------------------------

def test_times_are_local_with_their_zone(app):
    from controller.web import formatting
    with app.test_request_context("/"):
        assert str(formatting.when(0)) == '<bdi dir="ltr">1970-01-01 03:00:00 +03</bdi>'
        assert str(formatting.when("1970-01-01T00:00:00Z")) == str(formatting.when(0))
        assert formatting.when(None) == "—"
    app.extensions["oasis"].config.municipality.timezone = "Europe/London"
    with app.test_request_context("/"):
        assert "1970-01-01 01:00:00 BST" in str(formatting.when(0))  # 1970: British Standard Time


def test_sentences_and_details_in_each_language(app):
    from controller.web import narrate
    entry = {"action": "ap.create", "target_id": "ap-<7>", "actor": "web:ada"}
    with app.test_request_context("/?lang=ar"):
        assert str(narrate.audit_sentence(entry)) == \
            "أضاف نقطة الوصول <bdi><strong>ap-&lt;7&gt;</strong></bdi>"
        event = {"kind": "linkDown", "detail": {"ifDescr": "wlan0", "ifIndex": 2}}
        assert str(narrate.event_sentence(event)) == 'توقف المنفذ <bdi dir="ltr">wlan0</bdi>.'
        assert "الويب" in str(narrate.actor_name("web:ada"))
    with app.test_request_context("/?lang=en"):
        assert str(narrate.audit_sentence({"action": "odd.thing", "target_id": None})) == \
            "<code>odd.thing</code>"
        state = {"kind": "state", "detail": {"from": "up", "to": "down"}}
        assert str(narrate.event_sentence(state)) == \
            "The state changed from <strong>up</strong> to <strong>down</strong>."
        detail = str(narrate.detail_list({"diff": "a\n" * 30, "commands": 4, "result": "ok",
                                          "at": "2026-12-06T00:00:00+00:00", "x_y": [1, 2]}))
        assert "<details><summary>show (31 lines)</summary>" in detail
        assert "<dt>Commands</dt><dd><bdi dir=\"ltr\">4</bdi></dd>" in detail
        assert "<dd>succeeded</dd>" in detail and "2026-12-06 03:00:00 +03" in detail
        assert "<dt><code>x_y</code></dt>" in detail  # a key nobody named reads as its code
