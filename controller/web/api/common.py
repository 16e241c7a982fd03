"""What every API route shares: token authentication, role checks and strict JSON bodies.

A client mistake must come back as a 4xx with a code and, where it applies, the field: a body
that is not JSON (400), not declared as JSON (415), or JSON of the wrong shape (422). Values are
checked to be scalars and finite before the inventory layer sees them, so no input can reach a
code path that was never meant for it.
"""

from __future__ import annotations

import functools
import json
import math

from flask import current_app, g, request

from controller import auth
from controller.web import context
from controller.web.errors import ApiError
from controller.web.params import MAX_NESTING, JsonContentError, check_json_content

#: Integers beyond this are refused: no inventory field needs them, and converting them to float
#: would overflow.
MAX_INT = 2 ** 53


def public(view):
    """Mark a route that answers without a token (the API's index and OpenAPI document: they
    describe routes, never data)."""
    view.api_public = True
    return view


def authenticate() -> None:
    """Run before every API request: a bearer token, or the UI's session cookie for reads."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "api_public", False):
        return
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "use 'Authorization: Bearer <token>'")
        try:
            user = auth.user_for_token(context.store(), token.strip())
        except auth.TokenExpired as exc:
            raise ApiError(401, exc.code, exc.message) from None
        if user is None:
            raise ApiError(401, "unauthorized", "the token is not valid (revoked or mistyped)")
        g.api_user = user
        g.audit_channel = "api"
        return
    user = context.session_user()
    if user is None:
        raise ApiError(401, "unauthorized", "sign in or send 'Authorization: Bearer <token>'")
    if request.method not in ("GET", "HEAD"):
        # The cookie alone would make writes forgeable from another site; tokens are not.
        raise ApiError(401, "unauthorized", "changes through the API need a bearer token")
    g.api_user = user
    g.audit_channel = "api"


def require(role: str):
    """Decorate a route: the caller's role must be at least ``role`` (403 otherwise)."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not g.api_user.can(role):
                raise ApiError(403, "forbidden", f"this needs the {role} role; you are "
                               f"{g.api_user.role}")
            return view(*args, **kwargs)
        return wrapped
    return decorate


def caller() -> auth.User:
    return g.api_user


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed in JSON")


def json_body(max_depth: int = MAX_NESTING) -> dict:
    """The request body as a JSON object, or an ApiError saying what is wrong.

    Refused: a body not declared as JSON (415); bad UTF-8, bad syntax, NaN/Infinity, integers
    of more than 4300 digits (400); a lone surrogate escape such as ``"\\ud800"`` (400: valid
    JSON syntax, but no character, and the store could not encode it); anything but an object,
    or objects and arrays nested deeper than ``max_depth`` (422).
    """
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ApiError(400, "bad_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_body", "the body must be a JSON object")
    try:
        check_json_content(data, max_depth)
    except JsonContentError as exc:
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from None
    return data


def json_object() -> dict:
    """The request body as a JSON object of scalar values, or an ApiError saying what is wrong."""
    data = json_body()
    for field, value in data.items():
        _check_scalar(field, value)
    return data


def _check_scalar(field: str, value: object) -> None:
    if value is None or isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ApiError(422, "invalid_field", f"{field} must be a string or a number", field)
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(422, "invalid_field", f"{field} must be a finite number", field)
    if abs(value) > MAX_INT:
        raise ApiError(422, "invalid_field", f"{field} is out of range", field)


def int_arg(name: str, default: int, lo: int, hi: int) -> int:
    """A query-string integer within [lo, hi], or a 422 naming the parameter."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "invalid_parameter", f"{name} must be an integer", name) from None
    if not lo <= value <= hi:
        raise ApiError(422, "invalid_parameter", f"{name} must be between {lo} and {hi}", name)
    return value
