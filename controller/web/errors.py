"""Errors as the client expects them: JSON ``{"error": {code, message, field}}`` under /api/,
a small HTML page elsewhere. Refusals from the inventory and auth layers map to status codes here,
in one place, so the API and the pages agree.
"""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from controller.auth import AuthError
from controller.web.refusals import refusal_text
from core.errors import CodedError
from core.inventory import InventoryError

#: Refusal code -> HTTP status. Validation failures are 422: the body parsed but is not acceptable.
STATUS_FOR_CODE = {
    "not_found": 404,
    "duplicate": 409,
    "in_use": 409,
    "bad_json": 400,
    "forbidden": 403,
    "unauthorized": 401,
    "token_expired": 401,
    "unsupported_media_type": 415,
}
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "body_too_large",
               415: "unsupported_media_type", 422: "invalid", 429: "too_many_requests"}


class ApiError(CodedError):
    """A refusal raised by API code that is not an inventory or auth error."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(code, message, field)
        self.status = status


def status_for(exc: InventoryError | AuthError) -> int:
    return STATUS_FOR_CODE.get(exc.code, 422)


def error_response(status: int, code: str, message: str, field: str | None = None):
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="oasis"'
    return response


#: What an error page says, in the reader's language (the API keeps Werkzeug's English text).
_PAGE_TEXT = {
    400: _l("The request could not be understood: go back and try again."),
    403: _l("Your role does not allow this page or action."),
    404: _l("There is no such page, or what it showed was removed."),
    405: _l("This page does not take that kind of request."),
    413: _l("What was sent is too large."),
    429: _l("Too many requests: wait a little and try again."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _refusal(exc: InventoryError | AuthError):
    if _wants_json():
        return error_response(status_for(exc), exc.code, exc.message, exc.field)
    return render_template("error.html", status=status_for(exc),
                           message=refusal_text(exc)), status_for(exc)


def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.field)


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if _wants_json():
        return error_response(status, _HTTP_CODES.get(status, "error"), exc.description or exc.name)
    # English pages keep the specific description; another language says what it means.
    english = str(get_locale() or "en") == "en"
    message = exc.description if english else (_PAGE_TEXT.get(status) or exc.description)
    return render_template("error.html", status=status, message=message), status


def _unexpected(exc: Exception):
    """A bug, not a client error: logged in full, answered without internals."""
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    if _wants_json():
        return error_response(500, "internal", "internal error; see the controller log")
    return render_template("error.html", status=500, message=_("Internal error.")), 500


def init_app(app: Flask) -> None:
    app.register_error_handler(InventoryError, _refusal)
    app.register_error_handler(AuthError, _refusal)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
