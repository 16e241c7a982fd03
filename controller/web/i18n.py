"""Languages of the admin UI: Arabic (right to left, the default) and English.

The locale of a request comes from, in order: a ``lang`` query parameter (a link in a
language), the signed-in user's own language (`users.locale`, set on the Users page or with
``oasis user add --locale``), the ``lang`` cookie the header's switch sets, the browser's
Accept-Language, then ``[admin] default_locale`` (Arabic).

Catalogues are read from ``.po`` sources by `core.catalogues` (no compiled ``.mo`` is kept):
the admin's own (controller/web/translations) and reporting's (reporting/translations), whose
pages are part of this app.

Values that must read left to right inside an Arabic sentence (numbers, IP and MAC addresses,
codes, serial numbers, times) go through the ``ltr`` filter (`controller.web.formatting`),
``{{ ap.ip | ltr }}``, which wraps them in ``<bdi dir="ltr">`` so the bidi algorithm cannot
reorder their parts.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel import Locale
from flask import Blueprint, Flask, current_app, redirect, request, url_for
from flask_babel import Babel, get_locale

from captive_portal.i18n import PoDomain  # the portal's .po-backed domain, folders our own
from controller import auth
from controller.web import context
from controller.web.security import safe_next

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
REPORTING_TRANSLATIONS = Path(__file__).resolve().parents[2] / "reporting" / "translations"
#: Every catalogue folder the admin app reads, its own first (it wins on a shared msgid).
FOLDERS = (TRANSLATIONS, REPORTING_TRANSLATIONS)
LOCALES = auth.LOCALES
LANG_COOKIE = "lang"
#: How each language names itself on the switch.
NAMES = {"ar": "العربية", "en": "English"}

bp = Blueprint("i18n", __name__)


@functools.cache
def _locale(identifier: str) -> Locale:
    return Locale.parse(identifier)


def chosen_locale() -> str:
    """This request's language (see the module docstring for the order)."""
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    user = context.current_user()
    if user is not None and user.locale in LOCALES:
        return user.locale
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in LOCALES:
        return cookie
    return request.accept_languages.best_match(LOCALES) or current_app.config[
        "ADMIN_DEFAULT_LOCALE"]


def select_locale() -> Locale:
    return _locale(chosen_locale())


def current_locale() -> str:
    return str(get_locale() or "ar")


def text_direction(locale: str | None = None) -> str:
    return "rtl" if (locale or current_locale()) == "ar" else "ltr"


@bp.route("/language", methods=["POST"])
def switch():
    """The header's language switch: remembered in a cookie, and as the signed-in user's own."""
    target = request.form.get("lang", "")
    back = safe_next(request.form.get("back")) or url_for("dashboard.index")
    if target not in LOCALES:
        return redirect(back)
    user = context.session_user()
    if user is not None and user.locale != target:
        auth.set_locale(context.store(), user.username, target, context.actor(user))
    response = redirect(back)
    response.set_cookie(LANG_COOKIE, target, max_age=365 * 86400, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def init_app(app: Flask, default_locale: str = "ar") -> Babel:
    """Flask-Babel on the admin app, its catalogues, and the helpers templates use."""
    app.config["ADMIN_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_DEFAULT_LOCALE"] = default_locale
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(f) for f in FOLDERS)
    babel = Babel(app, locale_selector=select_locale)
    babel.domain_instance = PoDomain()  # replaces a cached property's value
    app.register_blueprint(bp)
    # Macros imported without the template's context still ask for the language this way.
    app.jinja_env.globals["ui_locale"] = current_locale

    @app.context_processor
    def locale_globals() -> dict:
        locale = current_locale()
        return {"locale": locale, "text_direction": text_direction(locale),
                "locales": LOCALES, "locale_names": NAMES,
                "here": request.full_path.rstrip("?") if request else "/"}

    @app.after_request
    def remember(response):
        asked = request.args.get("lang")
        if asked in LOCALES and request.cookies.get(LANG_COOKIE) != asked:
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, httponly=True,
                                samesite="Lax", secure=app.config["SESSION_COOKIE_SECURE"])
        if not request.path.startswith(("/api/", "/metrics", "/healthz", "/static/")):
            response.headers.setdefault("Content-Language", current_locale())
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response

    return babel


__all__ = ["FOLDERS", "LANG_COOKIE", "LOCALES", "chosen_locale", "current_locale", "init_app",
           "text_direction"]
