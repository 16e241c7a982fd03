"""Sign-in and sign-out for the admin pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, session, url_for

from controller import auth
from controller.web import context
from core import audit

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect would lend the login page to phishing."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("dashboard.index")


def _log(action: str, username: str, ip: str) -> None:
    store = context.store()
    with store.transaction() as conn:
        audit.record(conn, f"web:{username}", action, "user", username, {"ip": ip})


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip().lower()[:64]
    password = request.form.get("password", "")
    ip = request.remote_addr or "unknown"
    limiter = context.runtime().login_limiter
    if limiter.blocked(ip, username):
        return render_template("login.html", next=request.form.get("next", ""), username=username,
                               error="Too many failed sign-ins; wait a few minutes."), 429
    user = auth.authenticate(context.store(), username, password)
    if user is None:
        limiter.failed(ip, username)
        _log("user.login_failed", username or "-", ip)
        return render_template("login.html", next=request.form.get("next", ""), username=username,
                               error="Wrong username or password."), 401
    limiter.succeeded(username)
    _log("user.login", user.username, ip)
    session.clear()  # a fresh session on sign-in: no fixation of a pre-login cookie
    session.permanent = True
    session["user_id"] = user.id
    return redirect(_safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
