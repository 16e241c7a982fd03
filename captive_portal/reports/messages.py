"""SMS texts to citizens, in the language they filed the report in.

They are composed where the change happens (the status consumer, the SLA watcher: no request,
no Flask-Babel locale), so the portal's catalogues are loaded here directly with Babel and the
text is chosen by the report's locale, not the current request's.
"""

from __future__ import annotations

from babel.support import NullTranslations

from captive_portal.i18n import TRANSLATIONS
from core import catalogues


def _(text: str) -> str:
    """Marks a msgid for extraction; the text is translated when the SMS is composed."""
    return text


_MSGIDS = {
    "report_received": _("Amanah 940: your report %(tracking)s was received. We will keep you "
                       "informed by SMS."),
    "report_status": _("Amanah 940: your report %(tracking)s is now: %(status)s."),
    "report_status_note": _("Amanah 940: your report %(tracking)s is now: %(status)s. %(note)s"),
    "closure_code": _("Amanah 940: your report %(tracking)s was resolved. Reply %(code)s YES if it "
                    "is fixed, %(code)s NO to reopen it, or use the code on the portal."),
    "report_closed": _("Amanah 940: your report %(tracking)s is closed. Thank you."),
    "escalation": _("Amanah 940 escalation level %(level)d: report %(tracking)s (%(category)s, "
                  "%(priority)s) is overdue since %(due)s."),
}

#: Status names as citizens read them (the msgids are the English words).
STATUS_NAMES = {
    "received": _("received"), "forwarded": _("sent to the responsible team"),
    "acknowledged": _("accepted"), "assigned": _("assigned to a team member"),
    "in_progress": _("in progress"), "resolved": _("resolved"), "closed": _("closed"),
    "rejected": _("rejected"), "reopened": _("reopened"),
}


def translations(locale: str) -> NullTranslations:
    return catalogues.load(TRANSLATIONS, locale)


def text(kind: str, locale: str, **values) -> str:
    """The SMS of ``kind`` in ``locale`` with ``values`` filled in."""
    return translations(locale).gettext(_MSGIDS[kind]) % values


def status_name(status: str, locale: str) -> str:
    return translations(locale).gettext(STATUS_NAMES[status])


__all__ = ["STATUS_NAMES", "status_name", "text", "translations"]
