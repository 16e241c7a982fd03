"""Translations for what `reporting` renders outside a Flask request (PDF, e-mail, CLI).

Labels in sections are message ids marked with :func:`N_`; :func:`translator` gives the gettext
function of a locale from `reporting/translations` (Arabic is the default)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from babel.support import NullTranslations, Translations

LOCALES = ("ar", "en")
DEFAULT_LOCALE = "ar"
_DIR = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated when rendered."""
    return message


@functools.lru_cache(maxsize=4)
def _catalogue(locale: str) -> NullTranslations:
    return Translations.load(str(_DIR), [locale], domain="messages")


def translator(locale: str) -> Callable[[str], str]:
    """The gettext function for ``locale`` (``ar`` or ``en``)."""
    if locale not in LOCALES:
        raise ValueError(f"locale: expected one of {', '.join(LOCALES)}, got {locale!r}")
    return _catalogue(locale).gettext


def direction(locale: str) -> str:
    return "rtl" if locale == "ar" else "ltr"
