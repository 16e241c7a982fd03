"""Every SMS text the project composes, and the most SMS (segments) each may cost.

A phone bills and shows each segment: an Arabic text over 70 characters is two SMS, over 134
three (`segments`). Each template below has a budget in both languages, for its longest
values (the longest tracking number, status name, code, and a note or name cut at what
`captive_portal.reports.workflow` puts in an SMS); ``tests/captive_portal/test_sms_templates.py``
renders them all that way and fails when one grows past its budget. Raise a budget only on
purpose: it is the municipality's bill.
"""

from __future__ import annotations

#: Template -> segments it may cost in the worst case (Arabic or English).
BUDGETS: dict[str, int] = {
    "login_code": 1,              # the WiFi one-time code
    "report_received": 2,
    "report_status": 2,
    "report_status_note": 4,      # with the back office's note (SMS_NOTE_MAX characters)
    "closure_code": 2,
    "report_closed": 1,
    "escalation": 2,              # to staff
    # answers to citizens' SMS (`captive_portal.sms.replies.answer`), both languages in one
    "help": 3,
    "closure_code_invalid": 2,
    "closure_locked": 2,
    "opted_out": 2,
    "opted_in": 2,
}

#: The login code's text (`captive_portal.views.login`), as its catalogue entry is keyed.
LOGIN_CODE_MSGID = "Your Amanah WiFi code is %(code)s. It expires in %(minutes)d minutes."

__all__ = ["BUDGETS", "LOGIN_CODE_MSGID"]
