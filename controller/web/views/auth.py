"""Sign-in and sign-out for the admin pages.

A session is a row in the store (`controller.auth.start_session`); the cookie carries only its
random id, so signing out ends it for every worker at once. Failed sign-ins are counted in the
store too (`controller.web.security.LoginGuard`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from controller import auth
from controller.web import context
from controller.web.context import SESSION_ID
from controller.web.security import safe_next
from core import audit

bp = Blueprint("auth", __name__)


def _log(action: str, username: str, ip: str) -> None:
    store = context.store()
    with store.transaction() as conn:
        audit.record(conn, f"web:{username}", action, "user", username, {"ip": ip})


def _form(status: int, error: str | None = None, *, next_: str = "", username: str = "",
          retry_after: float | None = None):
    response = current_app.make_response(
        (render_template("login.html", next=next_, username=username, error=error), status))
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        # A return address that is not a page of this site is dropped, not carried into the form.
        return _form(200, next_=safe_next(request.args.get("next")) or "")
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    wanted = request.form.get("next", "")
    target = safe_next(wanted) if wanted else url_for("dashboard.index")
    if target is None:
        # Checked before the password: a sign-in meant to end on another site is not one.
        return _form(400, _("The page to return to after signing in is not a page of this "
                            "site. Sign in again from here."), username=username)
    ip = request.remote_addr or "unknown"
    store = context.store()
    guard = context.runtime().login_limiter
    refusal = guard.check(store, username, ip)
    if refusal is not None:
        return _form(429, refusal.message, next_=wanted, username=username,
                     retry_after=refusal.retry_after_s)
    user = auth.authenticate(store, username, password)
    if user is None:
        guard.failed(store, username, ip)
        _log("user.login_failed", username or "-", ip)
        return _form(401, _("Wrong username or password."), next_=wanted, username=username)
    guard.succeeded(store, user.username, ip)
    _log("user.login", user.username, ip)
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    session.clear()  # a fresh session on sign-in: no fixation of a pre-login cookie
    session.permanent = True
    session[SESSION_ID] = auth.start_session(store, user, lifetime, ip)
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout():
    auth.end_session(context.store(), session.get(SESSION_ID))
    session.clear()
    return redirect(url_for("auth.login"))
