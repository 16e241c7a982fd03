"""Languages of the portal: Arabic first (right to left), English, chosen per visitor.

The locale comes from, in order: a ``lang`` query parameter (the language switch), the ``lang``
cookie it sets, the browser's Accept-Language, then the configured default (Arabic). Catalogues
are ``translations/<locale>/LC_MESSAGES/messages.po``, compiled in memory by `core.catalogues`
(no ``.mo`` file is tracked or written), so a fresh clone works without a build step and a
translator's edit shows on the next request. :class:`PoDomain` serves them to Flask-Babel; the
admin app uses it too, with its own folders.

Phone numbers, codes and Latin text inside Arabic sentences are wrapped by the ``ltr`` filter in
``<bdi dir="ltr">`` so the bidi algorithm cannot reorder their digits (a code "123 456" must not
read "456 123").
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlencode

from babel import Locale
from babel.support import NullTranslations
from flask import Flask, current_app, g, request, url_for
from flask_babel import Babel, Domain, get_locale
from markupsafe import Markup, escape

from captive_portal.config import LOCALES
from core import catalogues
from core.contracts.signature import REQUIRED, carried

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
RTL_LOCALES = frozenset({"ar", "fa", "he", "ur"})
LANG_COOKIE = "lang"


class PoDomain(Domain):
    """Flask-Babel's message domain read from ``.po`` sources (see `core.catalogues`).

    The folders are the app's ``BABEL_TRANSLATION_DIRECTORIES`` (';'-separated), the first
    folder winning when two catalogues translate the same msgid.
    """

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        if locale is None:
            return NullTranslations()
        # Looked up once a request (a page asks for hundreds of messages); the .po files are
        # checked for changes between requests.
        cached = g.get("po_translations")
        if cached is None or cached[0] != str(locale):
            cached = (str(locale), catalogues.merged(self.translation_directories, str(locale)))
            g.po_translations = cached
        return cached[1]


def use_po_catalogues(babel: Babel) -> Babel:
    """Make ``babel`` read its catalogues from ``.po`` files, compiled in memory."""
    babel.domain_instance = PoDomain()  # replaces a cached property's value
    return babel


def select_locale() -> Locale:
    """The visitor's locale for this request (see the module docstring for the order)."""
    default = current_app.config["PORTAL_DEFAULT_LOCALE"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in LOCALES:
            return _locale(candidate)
    return _locale(request.accept_languages.best_match(LOCALES) or default)


@functools.cache
def _locale(identifier: str) -> Locale:
    # Flask-Babel parses a string selector's answer on every request, and Babel's parse looks
    # for the locale's data file on disk each time; a Locale object is used as it is.
    return Locale.parse(identifier)


def current_locale() -> str:
    return str(get_locale() or "ar")


def text_direction(locale: str | None = None) -> str:
    return "rtl" if (locale or current_locale()).split("_")[0] in RTL_LOCALES else "ltr"


def ltr(value: object) -> Markup:
    """Isolate ``value`` left to right inside a right-to-left page."""
    return Markup('<bdi dir="ltr">{}</bdi>').format(escape(value))


def switch_url(target: str) -> str:
    """This page in ``target``'s language, as a plain link (the switch works without script).

    A page shown in answer to a form post cannot be fetched again; it switches to the landing
    page with the same signed parameters, or to the status page.
    """
    if request.method == "GET":
        args = request.args.to_dict()
        args["lang"] = target
        return f"{request.path}?{urlencode(args)}"
    signed = carried(request.form)
    if all(signed[name] for name in REQUIRED):
        # mypy matches **signed against url_for's typed _external/_anchor options too; the
        # carried names are the redirect's parameters, never one of those.
        return url_for("login.landing", **signed, lang=target)  # type: ignore[arg-type]
    return url_for("status.show", lang=target)


def init_app(app: Flask) -> Babel:
    """Set up Flask-Babel on ``app`` with the portal's catalogues and template helpers."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", app.config["PORTAL_DEFAULT_LOCALE"])
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel = use_po_catalogues(Babel(app, locale_selector=select_locale))
    app.jinja_env.filters["ltr"] = ltr

    @app.context_processor
    def locale_globals() -> dict:
        locale = current_locale()
        return {"locale": locale, "text_direction": text_direction(locale),
                "locales": LOCALES, "switch_url": switch_url}

    @app.after_request
    def remember_switch(response):
        chosen = request.args.get("lang")
        if chosen in LOCALES and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, httponly=True,
                                samesite="Lax", secure=app.config["SESSION_COOKIE_SECURE"])
        response.headers.setdefault("Content-Language", current_locale())
        response.vary.add("Accept-Language")
        response.vary.add("Cookie")
        return response

    return babel


__all__ = ["LANG_COOKIE", "PoDomain", "current_locale", "init_app", "ltr", "select_locale",
           "switch_url", "text_direction", "use_po_catalogues"]
