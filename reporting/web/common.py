"""What the KPI pages and the KPI API take from the admin app they are registered in.

Reporting sits below the controller and cannot import it: the app keeps its runtime in
``current_app.extensions["oasis"]`` (``config`` and ``store_path``) and opens one store per
request in ``g.store``; these helpers use the same, so a request shares one connection.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import flask_babel
from flask import current_app, g, request

from core.config import Config
from core.store import Store
from reporting import areas as registry
from reporting.i18n import DEFAULT_LOCALE, LOCALES, translator
from reporting.model import Filters, Period


def config() -> Config:
    return current_app.extensions["oasis"].config


def store() -> Store:
    if "store" not in g:
        g.store = Store(current_app.extensions["oasis"].store_path, migrate=False)
    return g.store


def close_store(_exc: BaseException | None = None) -> None:
    opened = g.pop("store", None)
    if opened is not None:
        opened.close()


def locale() -> str:
    """``?lang=`` when given (links to the other language, exports), else the admin's locale
    for the signed-in user (Flask-Babel), else Arabic."""
    asked = request.args.get("lang")
    if asked in LOCALES:
        return asked
    if "babel" in current_app.extensions:
        chosen = str(flask_babel.get_locale() or "")[:2]
        if chosen in LOCALES:
            return chosen
    return DEFAULT_LOCALE


def gettext(locale_name: str) -> Callable[..., str]:
    """Reporting's catalogue first; a message it does not know (the admin's base template's)
    goes to the admin's own gettext when the app has one."""
    own = translator(locale_name)
    fallback = flask_babel.gettext if "babel" in current_app.extensions else None

    def _(message: str, **variables: object) -> str:
        text = own(message)
        if text == message and fallback is not None:
            return fallback(message, **variables)
        return text % variables if variables else text

    return _


def forced_locale(locale_name: str) -> contextlib.AbstractContextManager:
    """The admin's gettext in ``locale_name`` for a while (its base template's labels)."""
    if "babel" in current_app.extensions:
        return flask_babel.force_locale(locale_name)
    return contextlib.nullcontext()


def period() -> Period:
    return registry.period_from(dict(request.args), config().municipality.timezone,
                                now=time.time())


def filters() -> Filters:
    return registry.filters_from(dict(request.args))
