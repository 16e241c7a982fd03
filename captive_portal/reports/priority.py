"""Priority of a new report: the category's default, raised by words that signal danger.

A light that is out is routine; a light with an exposed wire can kill a child. The rules look
for such words in Arabic and English after normalising the text (Arabic letter variants and
diacritics folded, case folded), and can only raise a priority, never lower it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRIORITIES = ("low", "normal", "high", "urgent")

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ؤ": "و",
                       "ئ": "ي"})


def normalise(text: str) -> str:
    """Fold Arabic spelling variants, tatweel and diacritics, and case, for matching."""
    return _DIACRITICS.sub("", text).translate(_FOLD).casefold()


@dataclass(frozen=True)
class KeywordRule:
    """Any of ``phrases`` in a description raises its priority to at least ``raise_to``."""

    name: str
    raise_to: str
    phrases: tuple[str, ...]

    def __post_init__(self) -> None:
        # Fold once here rather than for every report.
        object.__setattr__(self, "phrases", tuple(normalise(p) for p in self.phrases))

    def matches(self, normalised_text: str) -> bool:
        return any(p in normalised_text for p in self.phrases)


DEFAULT_RULES: tuple[KeywordRule, ...] = (
    KeywordRule("electric_hazard", "urgent", (
        "exposed wire", "exposed cable", "live wire", "bare wire", "electric shock", "sparking",
        "سلك مكشوف", "اسلاك مكشوفه", "أسلاك مكشوفة", "سلك عاري", "كهرباء مكشوفه", "ماس كهربائي",
        "صعق", "شرار")),
    KeywordRule("flooding", "urgent", (
        "flooding", "flooded", "flood", "burst pipe", "غرق", "فيضان", "سيول", "انفجار ماسوره",
        "انفجار أنبوب")),
    KeywordRule("fire", "urgent", ("fire", "smoke", "حريق", "دخان")),
    KeywordRule("open_hole", "high", (
        "open manhole", "uncovered manhole", "deep hole", "fallen tree", "fallen pole",
        "غرفة تفتيش مفتوحه", "فتحة صرف مفتوحه", "حفره عميقه", "شجره ساقطه", "عمود ساقط")),
    KeywordRule("injury", "high", ("injured", "injury", "child hurt", "اصابه", "مصاب", "جرح")),
)


def rank(priority: str) -> int:
    return PRIORITIES.index(priority)


def assess(default: str, description: str,
           rules: tuple[KeywordRule, ...] = DEFAULT_RULES) -> tuple[str, list[str]]:
    """(priority, names of the rules that fired) for a report of a category with ``default``."""
    text = normalise(description)
    priority, fired = default, []
    for rule in rules:
        if rule.matches(text):
            fired.append(rule.name)
            if rank(rule.raise_to) > rank(priority):
                priority = rule.raise_to
    return priority, fired


__all__ = ["DEFAULT_RULES", "KeywordRule", "PRIORITIES", "assess", "normalise", "rank"]
