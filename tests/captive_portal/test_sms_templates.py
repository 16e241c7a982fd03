"""Every SMS template, in Arabic and English, with its longest values, stays within its segment
budget (captive_portal.sms.templates.BUDGETS)."""

from __future__ import annotations

import inspect

import pytest

from captive_portal.config import PortalConfig
from captive_portal.reports import messages, workflow
from captive_portal.sms.replies import ANSWER_KINDS, answer
from captive_portal.sms.segments import segment
from captive_portal.sms.templates import BUDGETS, LOGIN_CODE_MSGID
from captive_portal.views import login

LOCALES = ("ar", "en")


def _longest_status(locale: str) -> str:
    name = max((messages.status_name(s, locale) for s in messages.STATUS_NAMES), key=len)
    return f"{name} ({'م' * workflow.SMS_ASSIGNEE_MAX})"


def _worst(kind: str, locale: str) -> str:
    if kind == "login_code":
        text = messages.translations(locale).gettext(LOGIN_CODE_MSGID)
        return text % {"code": "9" * 10, "minutes": 60}   # otp_length: at most 10 digits
    if kind in ANSWER_KINDS:
        return answer(kind)
    return messages.text(kind, locale, tracking="940-2026-999999", code="999999",
                         status=_longest_status(locale), note="ن" * workflow.SMS_NOTE_MAX,
                         level=9, category="street_lighting_fault", priority="urgent",
                         due="2026-12-31T23:59:59+03:00")


TEMPLATES = sorted(set(messages._MSGIDS) | {"login_code"} | set(ANSWER_KINDS))


def test_every_template_has_a_budget():
    assert set(TEMPLATES) == set(BUDGETS)


@pytest.mark.parametrize("kind", TEMPLATES)
@pytest.mark.parametrize("locale", LOCALES)
def test_templates_stay_within_their_segment_budget(kind, locale):
    text = _worst(kind, locale)
    shape = segment(text)
    assert shape.segments <= BUDGETS[kind], (kind, locale, shape, text)


@pytest.mark.parametrize("kind", sorted(set(messages._MSGIDS) | {"login_code"}))
def test_arabic_templates_are_translated(kind):
    """An untranslated template would be measured in English and pass unseen."""
    assert _worst(kind, "ar") != _worst(kind, "en")
    assert any("\u0600" <= ch <= "\u06ff" for ch in _worst(kind, "ar"))


def test_the_login_code_budget_measures_the_text_the_portal_sends():
    assert LOGIN_CODE_MSGID in inspect.getsource(login)
    PortalConfig(otp_length=10).validate()
    with pytest.raises(ValueError, match="otp_length"):
        PortalConfig(otp_length=11).validate()


def test_a_budget_can_fail():
    long_note = messages.text("report_status_note", "ar", tracking="940-2026-999999",
                              status="x", note="ن" * 400)
    assert segment(long_note).segments > BUDGETS["report_status_note"]
