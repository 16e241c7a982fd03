"""The 940 keyword rules rank a report the same in Arabic and English."""

from __future__ import annotations

import re

import pytest

from captive_portal.reports.priority import DEFAULT_RULES, assess

_ARABIC = re.compile("[\u0600-\u06ff]")

# The same report, as a citizen would write it in each language.
PAIRS = [
    ("Deep pothole next to the swings", "حفرة عميقة بجانب المراجيح", "high"),
    ("Open manhole on the path", "غرفة تفتيش مفتوحة في الممر", "high"),
    ("A fallen tree blocks the gate", "شجرة ساقطة تسد البوابة", "high"),
    ("Exposed wire at the lamp post", "سلك مكشوف عند عمود الإنارة", "urgent"),
    ("Burst pipe, the lawn is flooded", "انفجار ماسورة والعشب مغمور", "urgent"),
    ("Smoke from the kiosk", "دخان من الكشك", "urgent"),
    ("A child was injured on the slide", "طفل مصاب على الزحليقة", "high"),
    ("The street light is out", "الإنارة مطفأة", "normal"),
    ("Rubbish bin is full", "سلة المهملات ممتلئة", "normal"),
]


@pytest.mark.parametrize("rule", DEFAULT_RULES, ids=lambda r: r.name)
def test_each_rule_has_phrases_in_both_languages(rule):
    assert rule.en and rule.ar
    assert not any(_ARABIC.search(p) for p in rule.en), rule.en
    assert all(_ARABIC.search(p) for p in rule.ar), rule.ar


@pytest.mark.parametrize(("english", "arabic", "expected"), PAIRS, ids=[p[0] for p in PAIRS])
def test_the_same_report_gets_the_same_priority_in_either_language(english, arabic, expected):
    en_priority, en_rules = assess("normal", english)
    ar_priority, ar_rules = assess("normal", arabic)
    assert en_priority == ar_priority == expected
    assert en_rules == ar_rules


def test_every_rule_fires_in_both_languages_in_the_pairs():
    fired_en = {name for en, _ar, _p in PAIRS for name in assess("normal", en)[1]}
    fired_ar = {name for _en, ar, _p in PAIRS for name in assess("normal", ar)[1]}
    assert fired_en == fired_ar == {rule.name for rule in DEFAULT_RULES}
