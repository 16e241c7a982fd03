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
    """Any of the phrases in a description raises its priority to at least ``raise_to``.

    The phrases come in both languages the desk receives, ``en`` and ``ar``, each meaning the
    same dangers, so a report is ranked the same whichever language the citizen wrote in.
    """

    name: str
    raise_to: str
    en: tuple[str, ...]
    ar: tuple[str, ...]

    def __post_init__(self) -> None:
        # Fold once here rather than for every report.
        object.__setattr__(self, "en", tuple(normalise(p) for p in self.en))
        object.__setattr__(self, "ar", tuple(normalise(p) for p in self.ar))

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.en + self.ar

    def matches(self, normalised_text: str) -> bool:
        return any(p in normalised_text for p in self.phrases)


DEFAULT_RULES: tuple[KeywordRule, ...] = (
    KeywordRule("electric_hazard", "urgent", en=(
        "exposed wire", "exposed cable", "exposed electric", "live wire", "bare wire",
        "electric shock", "electrocut", "short circuit", "sparking", "sparks"), ar=(
        "سلك مكشوف", "اسلاك مكشوفه", "كيبل مكشوف", "كهرباء مكشوفه", "سلك عاري", "صعق",
        "ماس كهربائي", "شرار")),
    KeywordRule("flooding", "urgent", en=(
        "flooding", "flooded", "flood", "burst pipe", "pipe burst", "drowning"), ar=(
        "فيضان", "مغمور", "سيول", "انفجار ماسوره", "انفجار أنبوب", "انفجار انبوب", "غرق")),
    KeywordRule("fire", "urgent", en=("fire", "smoke", "burning"), ar=(
        "حريق", "دخان", "يحترق")),
    KeywordRule("open_hole", "high", en=(
        "open manhole", "uncovered manhole", "open drain", "deep hole", "deep pothole",
        "deep pit", "fallen tree", "fallen pole"), ar=(
        "غرفة تفتيش مفتوحه", "فتحة تفتيش مفتوحه", "فتحة صرف مفتوحه", "حفره عميقه",
        "حفرة عميقة", "شجره ساقطه", "عمود ساقط")),
    KeywordRule("injury", "high", en=("injured", "injury", "child hurt", "wounded", "bleeding"),
                ar=("اصابه", "مصاب", "طفل مصاب", "جرح", "ينزف")),
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
