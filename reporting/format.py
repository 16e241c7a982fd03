"""Figures as people read them, in either language: one place for every output that shows a
value (pages, PDF, e-mail). Exports (CSV, XLSX) and the API keep the raw numbers.

Numbers keep Western digits and are laid out left to right inside Arabic text (the pages and
the PDF wrap them in ``<bdi dir="ltr">``), as the admin's other pages do.
"""

from __future__ import annotations

from collections.abc import Callable

from markupsafe import Markup

from core.localtime import show
from reporting.i18n import N_
from reporting.model import Unit

Gettext = Callable[[str], str]

_UNIT_WORDS = {"d": N_("d"), "h": N_("h"), "min": N_("min"), "s": N_("s"),
               "days": N_("business days")}


def number(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def duration(seconds: float, _: Gettext) -> str:
    """``3 d 4 h``, ``2 h 5 min``, ``4 min 10 s``, ``12 s``: the two largest parts."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} {_(_UNIT_WORDS['s'])}"
    days, rest = divmod(round(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next(i for i, (amount, _word) in enumerate(parts) if amount)
    return " ".join(f"{amount} {_(_UNIT_WORDS[word])}"
                    for amount, word in parts[first:first + 2] if amount)


def size(value: float, steps: tuple[str, ...], base: float) -> str:
    amount, unit = float(value), steps[0]
    for unit in steps:
        if abs(amount) < base or unit == steps[-1]:
            break
        amount /= base
    return f"{amount:,.1f} {unit}" if unit != steps[0] else f"{amount:,.0f} {unit}"


def value(value: object, unit: Unit, _: Gettext) -> str:
    """``value`` in ``unit`` for display; an em dash when there is no value."""
    if value is None or value == "":
        return "—"
    if unit == "text" or isinstance(value, str):
        return _(value) if isinstance(value, str) and value else str(value)
    amount = float(value)  # type: ignore[arg-type]
    if unit == "percent":
        return f"{amount:.2f} %" if 99 <= amount < 100 else f"{amount:.1f} %"
    if unit == "seconds":
        return duration(amount, _)
    if unit == "days":
        return f"{amount:.1f} {_(_UNIT_WORDS['days'])}"
    if unit == "count":
        return number(amount, 0 if amount == int(amount) else 1)
    if unit == "bytes":
        return size(amount, ("B", "kB", "MB", "GB", "TB"), 1000.0)
    if unit == "bps":
        return size(amount, ("bit/s", "kbit/s", "Mbit/s", "Gbit/s"), 1000.0)
    if unit == "ms":
        return f"{amount:,.1f} ms"
    if unit == "ratio":
        return f"{amount:.2f}"
    return str(value)


def _has_arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


def isolated(text: str) -> Markup:
    """``text`` isolated from the sentence around it, in its own direction: a value with Arabic
    words (``3 ساعة``) reads right to left, a number or code (``98.2 %``) left to right."""
    rtl = _has_arabic(text)
    # The isolate characters do it where <bdi> is not understood (WeasyPrint's layout).
    return Markup('<bdi dir="{}">{}{}\u2069</bdi>').format(
        "rtl" if rtl else "ltr", "\u2067" if rtl else "\u2066", text)


def isolate_marks(text: str) -> str:
    """`isolated` with the Unicode isolate characters only (for the PDF's layout)."""
    return f"{chr(0x2067) if _has_arabic(text) else chr(0x2066)}{text}{chr(0x2069)}"


def when(ts: float | None, tz: str) -> str:
    return show(ts, tz) if ts is not None else "—"


def period_label(period_name: str, start: float, end: float, tz: str) -> str:
    """``2026-11-01 – 2026-11-30`` (local days, the last one included)."""
    return f"{show(start, tz, '%Y-%m-%d')} – {show(end - 1, tz, '%Y-%m-%d')}"
