"""Message catalogues read from their ``.po`` sources, compiled in memory.

Every front end (portal, admin, reporting) keeps its translations as
``<folder>/<locale>/LC_MESSAGES/messages.po`` and nothing else: no compiled ``.mo`` is tracked,
shipped or written beside the sources. A catalogue is parsed with Babel and compiled into a
``Translations`` object in memory the first time a locale is asked for, and parsed again when its
``.po`` changes on disk, so a translator's edit shows without a build step and a read-only
install works as it is.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterable
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "messages"

_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[int, NullTranslations]] = {}


def po_path(folder: str | Path, locale: str, domain: str = DOMAIN) -> Path:
    return Path(folder) / locale / "LC_MESSAGES" / f"{domain}.po"


def compile_po(path: Path, locale: str) -> Translations:
    """``path`` parsed and compiled in memory (fuzzy entries are left out, as msgfmt does)."""
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def load(folder: str | Path, locale: str) -> NullTranslations:
    """The catalogue of ``locale`` in ``folder`` (an empty one when it has none)."""
    path = po_path(folder, str(locale))
    key = (str(path), str(locale))
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return NullTranslations()
    with _lock:
        cached = _cache.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
    translations = compile_po(path, str(locale))
    with _lock:
        _cache[key] = (stamp, translations)
    return translations


_merged: dict[tuple[tuple[str, ...], str], tuple[tuple[int, ...], NullTranslations]] = {}


def _stamp(folder: str | Path, locale: str) -> int:
    try:
        return po_path(folder, locale).stat().st_mtime_ns
    except OSError:
        return 0


def merged(folders: Iterable[str | Path], locale: str) -> NullTranslations:
    """The catalogues of ``locale`` from several folders, the first folder winning on conflicts."""
    names = tuple(str(folder) for folder in folders)
    locale = str(locale)
    stamps = tuple(_stamp(folder, locale) for folder in names)
    cached = _merged.get((names, locale))
    if cached and cached[0] == stamps:
        return cached[1]
    result = _merge(names, locale)
    _merged[(names, locale)] = (stamps, result)
    return result


def _merge(folders: tuple[str, ...], locale: str) -> NullTranslations:
    result: Translations | None = None
    for folder in folders:
        catalogue = load(folder, locale)
        if not isinstance(catalogue, Translations):
            continue
        if result is None:
            result = Translations(domain=DOMAIN)
            result.plural = catalogue.plural  # merge() copies messages only
        for key, value in catalogue._catalog.items():  # as Babel's own merge does
            result._catalog.setdefault(key, value)
    return result or NullTranslations()


__all__ = ["DOMAIN", "compile_po", "load", "merged", "po_path"]
