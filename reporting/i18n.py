"""Translations for what `reporting` renders outside a Flask request (PDF, e-mail, CLI).

Labels in sections are message ids marked with :func:`N_`; :func:`translator` gives the gettext
function of a locale from `reporting/translations` (Arabic is the default), read from its
``.po`` files by `core.catalogues`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from babel.support import NullTranslations

from core import catalogues

LOCALES = ("ar", "en")
DEFAULT_LOCALE = "ar"
_DIR = Path(__file__).parent / "translations"


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated when rendered."""
    return message


def _catalogue(locale: str) -> NullTranslations:
    # Read from the .po source, compiled in memory (no .mo is built or tracked).
    return catalogues.load(_DIR, locale)


def translator(locale: str) -> Callable[[str], str]:
    """The gettext function for ``locale`` (``ar`` or ``en``)."""
    if locale not in LOCALES:
        raise ValueError(f"locale: expected one of {', '.join(LOCALES)}, got {locale!r}")
    return _catalogue(locale).gettext


def direction(locale: str) -> str:
    return "rtl" if locale == "ar" else "ltr"
