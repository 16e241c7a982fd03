"""Errors the visitor can meet: a stable code, an HTTP status and a translated message.

Views raise `PortalError("code")`; one handler renders ``error.html`` in the visitor's language
with the right status. Codes are part of the interface (tests and logs use them); the wording
lives in `MESSAGES`, the one catalogue of every portal page: the login pages and the 940
report pages (`captive_portal.reports.views`) read the same entry for the same code, so a
visitor never meets two wordings of one refusal.
"""

from __future__ import annotations

import logging
from types import MappingProxyType

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from core.errors import CodedError

log = logging.getLogger(__name__)

#: code -> (HTTP status, message shown to the visitor); read-only. Report codes are those of
#: intake, photos, one-time codes and closure (`captive_portal.reports`).
MESSAGES = MappingProxyType({
    # -- signed links and logins
    "signature_missing": (400, _l("Please open this page by connecting to the park WiFi and "
                                  "visiting any website.")),
    "signature_malformed": (400, _l("This login link is damaged. Please visit any website "
                                    "again to get a new one.")),
    "signature_unknown_gateway": (403, _l("This WiFi network is not known to the portal.")),
    "signature_invalid": (403, _l("This login link is not valid. Please visit any website "
                                  "again to get a new one.")),
    "signature_stale": (403, _l("This login link has expired. Please visit any website "
                                "again to get a new one.")),
    "terms_not_accepted": (400, _l("Please accept the terms of use to continue.")),
    "phone_invalid": (400, _l("Please enter a Saudi mobile number, for example 05XXXXXXXX.")),
    "code_invalid": (400, _l("The code is not correct. Please check the SMS and try again.")),
    "code_expired": (400, _l("The code has expired. Please ask for a new one.")),
    "code_attempts": (429, _l("Too many wrong codes. Please ask for a new one.")),
    "code_format": (400, _l("The code is the digits in the SMS we sent you.")),
    "sms_rate_phone": (429, _l("Too many codes were sent to this number. Please try again "
                               "later.")),
    "sms_rate_client": (429, _l("Too many codes were requested from this device. Please try "
                                "again later.")),
    "sms_resend_wait": (429, _l("A code was just sent. Please wait a minute before asking "
                                "for another.")),
    "sms_busy": (429, _l("Too many codes are being sent right now. Please try again in a few "
                         "minutes.")),
    "sms_failed": (503, _l("We could not send the SMS. Please try again in a moment.")),
    "too_many_requests": (429, _l("Too many attempts. Please wait a minute and try again.")),
    "gateway_unavailable": (503, _l("The WiFi gateway did not answer. Please try again in a "
                                    "moment.")),
    "no_session": (400, _l("You are not logged in on this device.")),
    "csrf": (400, _l("This form has expired. Please go back, reload the page and try again.")),
    "bad_request": (400, _l("The request could not be understood.")),
    "not_found": (404, _l("This page does not exist.")),
    "method_not_allowed": (405, _l("This page cannot be used this way.")),
    # -- 940 reports
    "category_missing": (400, _l("Please choose what the report is about.")),
    "category_unknown": (400, _l("Please choose what the report is about.")),
    "description_missing": (400, _l("Please describe the problem.")),
    "description_too_long": (400, _l("The description is too long (at most 4,000 characters).")),
    "description_html": (400, _l("Please remove the < and > signs from the description.")),
    "location_missing": (400, _l("Please tell us where the problem is.")),
    "location_invalid": (400, _l("The coordinates are not valid.")),
    "photo_count": (400, _l("Too many photos (at most 3).")),
    "photo_too_large": (413, _l("A photo is too large.")),
    "photo_type": (400, _l("Photos must be JPEG or PNG images.")),
    "photo_corrupt": (400, _l("A photo could not be read.")),
    "photo_dimensions": (400, _l("A photo has too many pixels to be processed. Please send "
                                 "a smaller photo or a screenshot.")),
    "photo_busy": (503, _l("Many photos are being sent right now. Please try again in a "
                           "minute.")),
    "field_too_long": (400, _l("This is too long. Please shorten it.")),
    "field_html": (400, _l("Please remove the < and > signs from this field.")),
    "email_invalid": (400, _l("The request could not be understood.")),
    "media_url_invalid": (400, _l("The request could not be understood.")),
    "report_unknown": (404, _l("No report matches this tracking number and phone.")),
    "closure_not_pending": (409, _l("This report is not waiting for your confirmation.")),
    "closure_code_invalid": (400, _l("The closure code is not correct.")),
    "closure_locked": (429, _l("Too many wrong closure codes. Please call 940.")),
    "too_many_lookups": (429, _l("Too many attempts. Please wait a minute and try again.")),
    "upload_too_large": (413, _l("The photos are too large together.")),
    "request_too_large": (413, _l("This form sent more than the portal accepts.")),
})

_HTTP_CODES = MappingProxyType({400: "bad_request", 404: "not_found",
                                405: "method_not_allowed", 413: "request_too_large",
                                429: "too_many_requests"})


def status_and_message(code: str) -> tuple[int, LazyString]:
    """The catalogue's entry for ``code``; an unknown code reads as a request not understood."""
    return MESSAGES.get(code) or MESSAGES["bad_request"]


class PortalError(CodedError):
    """A visitor-facing failure; ``code`` selects status and message from `MESSAGES`."""

    def __init__(self, code: str, **context):
        if code not in MESSAGES:
            raise ValueError(f"unknown portal error code {code!r}")
        super().__init__(code)
        self.context = context

    @property
    def status(self) -> int:
        return MESSAGES[self.code][0]


def render_error(code: str, status: int | None = None):
    status_code, message = MESSAGES[code]
    return render_template("error.html", code=code, message=message), status or status_code


def init_app(app: Flask) -> None:
    @app.errorhandler(PortalError)
    def portal_error(exc: PortalError):
        log.info("portal error %s on %s %s", exc.code, request.method, request.path)
        g.portal_error = exc.code  # a login's failures are counted by cause (views.capture)
        return render_error(exc.code)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        g.portal_error = "csrf"
        return render_error("csrf")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            # The body was refused unread: the page must not read the form again (the
            # language switch of base.html would, and fail the same way inside this handler).
            request.form = ImmutableMultiDict()
        return render_error(_HTTP_CODES.get(exc.code or 400, "bad_request"), exc.code)


__all__ = ["MESSAGES", "PortalError", "init_app", "render_error", "status_and_message"]
